// Slot processes: one forked child per worker slot runs the kernel, sandboxed.
//
// The child locks itself down before it loads the kernel (its constructors
// run inside dlopen): rlimits (no core files, an address-space cap),
// Landlock (read-only access to the kernel file and the system libraries)
// and a seccomp filter allowing what dlopen needs; after dlopen a stricter
// filter allows only computing (read/write on its socket and stderr, memory
// never executable, time, exit); see src/sandbox/confine.h. Then it runs w_init once and w_main for
// each task frame that arrives on its socketpair, answering each with one frame (after any
// checkpoint frames the kernel sent while it ran). Anything that
// goes wrong inside (a crash, a forbidden call, memory exhaustion) kills
// only the child; Slot::reap() tells the worker why in words.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "w/status.h"

namespace w::sandbox {

struct SlotConfig {
  std::string kernel_path;  ///< the kernel's .so
  std::string static_data;  ///< msgpack bytes for w_init; empty for none
  size_t memory_mb = 1024;  ///< address-space limit of the child; 0 = none
  bool seccomp = true;      ///< false only for debugging a kernel
  /// Without Landlock (Linux < 5.13, or not enabled) load kernels under
  /// seccomp alone instead of refusing to: --insecure-sandbox.
  bool insecure_sandbox = false;
  double init_timeout = 30;  ///< seconds allowed for dlopen + w_init
  /// The largest output one task may return; a larger one fails the task
  /// ("result larger than ...") before the worker reads it.
  size_t max_output = 256u << 20;
};

/// Ok if slots with `config` can confine their kernels on this machine:
/// Landlock is there, or config.insecure_sandbox accepts seccomp alone (a
/// warning is printed once then). Checked before any slot starts, so the
/// refusal is one clear message instead of one per task.
Status check_confinement(const SlotConfig& config);

/// What a member of a coupled task asks of its worker (see Reply::call).
/// kLinkNote: no answer; what the member read on a direct link it was
/// handed that is the worker's (a barrier token, a finish, the link's end).
enum class Call { kNone, kSend, kRecv, kBarrier, kLinkNote };

/// What a slot answered for one task, or a checkpoint of the task it is
/// running, or a call of a member's hook (then more replies for the same
/// task follow).
struct Reply {
  bool ok = false;
  bool checkpoint = false;  ///< not an answer: the running task's state, in `output`
  /// Not an answer: the member's w_send (`output` to rank `peer`), w_recv
  /// (from rank `peer`) or w_barrier, waiting for answer_*().
  Call call = Call::kNone;
  int peer = 0;
  int timeout_ms = -1;  ///< of a kRecv or kBarrier; < 0: none
  int note = 0;         ///< of a kLinkNote: what (frame.h's LinkNote)
  std::string output;   ///< ok: the kernel's msgpack output (may be empty)
  std::string error;    ///< !ok: why the task failed
  double ms = 0;        ///< time spent in w_main, measured in the child
};

/// One child process. Owned by the worker's executor; the destructor kills
/// and reaps the child so no zombie outlives its Slot.
class Slot {
 public:
  /// Forks the child and waits until the kernel is loaded and initialised.
  /// Errors say why ("load kernel 'x.so': ...", "w_init failed: ...").
  static Result<std::unique_ptr<Slot>> start(const SlotConfig& config, int index);
  ~Slot();
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  int fd() const { return fd_; }
  pid_t pid() const { return pid_; }
  int index() const { return index_; }

  /// Queues a task frame; flush() writes queued frames without blocking.
  /// `restore`, if not empty, is the task's last checkpoint: w_main gets it
  /// as out->restore.
  void queue_task(std::string_view input, std::string_view restore = {});
  /// Queues a task that runs as member `rank` of a group of `size` (>= 2):
  /// its w_out has rank, size and the send/recv/barrier hooks.
  void queue_member(std::string_view input, std::string_view restore, int rank, int size);
  /// Answers the member's pending call: w_send's or w_barrier's result, or
  /// w_recv's (`rc` < 0: W_E*; else `message`). Queued like tasks. With
  /// `fd` (>= 0, rc kHandover) the socket of a direct link goes with the
  /// answer; the Slot sends a copy of it (the caller keeps its own).
  void answer_send(int rc, int fd = -1);
  void answer_recv(int rc, std::string_view message, int fd = -1);
  void answer_barrier(int rc);
  Status flush();
  bool wants_write() const { return !outbox_.empty(); }

  /// Reads what the socket has and appends the finished replies and the
  /// checkpoints, in the order the child sent them. Returns false once the
  /// child has gone (its socket closed); call reap() then. An error means
  /// the child broke the frame protocol (a kernel writing to its socket, or
  /// a result over SlotConfig::max_output): its message is the running
  /// task's reason to fail; kill and restart the slot.
  Result<bool> read_replies(std::vector<Reply>& replies);

  /// Kills the child (SIGKILL) if still running, waits for it and returns
  /// why it ended, in words: "crashed: SIGSEGV (Segmentation fault)",
  /// "forbidden system call: socket", "out of memory (limit 64 MB)".
  std::string reap();

 private:
  Slot(pid_t pid, int fd, int index, size_t memory_mb, size_t max_output);
  Result<bool> read_some();

  pid_t pid_;
  int fd_;
  int index_;
  size_t memory_mb_;
  size_t max_output_;
  std::string outbox_;
  struct PassedFd {
    size_t at;  // the outbox offset of the frame it goes with
    int fd;     // our copy, closed once sent
  };
  std::vector<PassedFd> passing_;
  void pass_fd(int fd);
  std::unique_ptr<class FrameReader> reader_;
  int forbidden_syscall_ = -1;  // set when the child reported a seccomp trap
  bool reaped_ = false;
};

}  // namespace w::sandbox
