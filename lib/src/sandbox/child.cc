// The slot child: confine, load the kernel, confine further, serve tasks.
//
// Order matters: loading a kernel runs its code (constructors, static
// initializers, ifunc resolvers, those of the libraries it links), so the
// process is confined before dlopen (Landlock + the load filter) and
// confined further before w_init (the run filter); see confine.h.
#include <dlfcn.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>

#include "child.h"
#include "confine.h"
#include "frame.h"
#include "member_links.h"
#include "w_kernel.h"

namespace w::sandbox {
namespace {

using InitFn = int (*)(const uint8_t*, size_t);
using MainFn = int (*)(const uint8_t*, size_t, w_out*);

constexpr size_t kMaxTask = 256u << 20;
constexpr int kForbiddenExit = 100;

bool send_bytes(const char* p, size_t left) {
  while (left > 0) {
    ssize_t n = ::write(kChildFd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

bool send_all(const std::string& data) {
  return send_bytes(data.data(), data.size());
}

// The w_checkpoint hook: one frame with the state, written before w_checkpoint
// returns (the kernel may reuse its buffer). The write blocks while the worker
// is behind, which throttles a kernel that checkpoints faster than it can be
// read. The header goes separately so a large state is not copied.
int send_checkpoint(w_out*, const void* state, size_t n) {
  if (n > W_CHECKPOINT_MAX) return -1;
  char header[kFrameHeader];
  put_frame_header(header, kFrameCheckpoint, n);
  if (!send_bytes(header, sizeof header) || !send_bytes(static_cast<const char*>(state), n))
    _exit(0);  // the worker closed the socket: nobody wants the result either
  return 0;
}

double now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Frames from the worker. The main loop reads tasks from it and the coupled
// tasks' hooks read their answers from it; a slot runs one task at a time, so
// while a member waits in a hook the next frame is that hook's answer.
FrameReader& reader() {
  static FrameReader r(kMaxTask);
  return r;
}

// Sockets of direct links the worker passed (SCM_RIGHTS), in the order they
// came; a kHandover answer takes the first.
std::deque<int>& passed_fds() {
  static std::deque<int> fds;
  return fds;
}

// read() of kChildFd, keeping the descriptors that come with the bytes.
ssize_t read_worker(char* buf, size_t size) {
  iovec iov{buf, size};
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(kChildFd, &msg, MSG_CMSG_CLOEXEC);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      passed_fds().push_back(fd);
    }
  }
  return n;
}

int take_passed_fd() {
  if (passed_fds().empty()) _exit(2);  // a handover without its socket
  const int fd = passed_fds().front();
  passed_fds().pop_front();
  return fd;
}

// Blocks until the worker's next frame arrives. Anything but `type` breaks
// the protocol: the child ends, and the worker reports it.
void await_frame(FrameType type, Frame& frame) {
  char buf[64 * 1024];
  while (true) {
    auto got = reader().next(frame);
    if (!got.ok()) _exit(2);
    if (*got) {
      if (frame.type != type) _exit(2);
      return;
    }
    ssize_t n = read_worker(buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0);  // the worker closed the socket (the group was stopped)
    reader().append(buf, static_cast<size_t>(n));
  }
}

void send_header_or_exit(FrameType type, size_t n) {
  char header[kFrameHeader];
  put_frame_header(header, type, n);
  if (!send_bytes(header, sizeof header)) _exit(0);
}

void send_note(int rank, uint8_t what) {
  std::string payload;
  put_i32(payload, rank);
  payload += static_cast<char>(what);
  std::string frame_bytes;
  append_frame(frame_bytes, kFrameLinkNote, payload);
  if (!send_all(frame_bytes)) _exit(0);
}

MemberLinks& links() {
  static MemberLinks l(send_note);
  return l;
}

// The w_send hook: over the member's own link to `to` once it was handed
// one, else one kFrameSend and the worker's verdict. The worker answers at
// once unless the destination is far behind, which throttles a member that
// sends faster than its peer receives; or it hands over the link.
int member_send(w_out* out, int to, const void* bytes, size_t n) {
  if (to < 0 || to >= out->group_size || to == out->rank) return W_ERANK;
  if (n > W_MESSAGE_MAX) return W_ETOOBIG;
  if (links().writes_to(to) && links().send(out->rank, to, bytes, n)) return 0;
  std::string head;
  put_i32(head, to);
  send_header_or_exit(kFrameSend, 4 + n);
  if (!send_bytes(head.data(), 4) || !send_bytes(static_cast<const char*>(bytes), n)) _exit(0);
  Frame frame;
  await_frame(kFrameSendDone, frame);
  const int32_t rc = get_i32(frame.payload);
  if (rc != kHandover) return rc;
  if (links().writes_to(to)) _exit(2);  // handed twice
  links().set_writer(to, take_passed_fd());
  // A link that fails at once: the worker (told) answers for it.
  return member_send(out, to, bytes, n);
}

long copy_out(const std::string_view message, void* buffer, size_t cap) {
  if (buffer && cap > 0) std::memcpy(buffer, message.data(), std::min(message.size(), cap));
  return static_cast<long>(message.size());
}

long member_recv(w_out* out, int from, void* buffer, size_t cap, int timeout_ms) {
  if (from < 0 || from >= out->group_size || from == out->rank) return W_ERANK;
  const double deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  auto left = [&] {
    return deadline < 0 ? -1 : static_cast<int>(std::max(0.0, deadline - now_ms()));
  };
  if (links().reads_from(from)) {
    size_t length = 0;
    switch (links().recv(from, timeout_ms, buffer, cap, length)) {
      case MemberLinks::Got::kMessage:
        return static_cast<long>(length);
      case MemberLinks::Got::kTimeout:
        return W_ETIMEOUT;
      case MemberLinks::Got::kEnded:
        break;  // the worker knows how it ended: ask it
    }
  }
  std::string payload;
  put_i32(payload, from);
  put_i32(payload, left());
  std::string frame_bytes;
  append_frame(frame_bytes, kFrameRecv, payload);
  if (!send_all(frame_bytes)) _exit(0);
  Frame frame;
  await_frame(kFrameRecvDone, frame);
  const int32_t rc = get_i32(frame.payload);
  if (rc == kHandover) {
    if (links().reads_from(from)) _exit(2);  // handed twice
    links().set_reader(from, take_passed_fd());
    return member_recv(out, from, buffer, cap, left());
  }
  if (rc < 0) return rc;
  return copy_out(std::string_view(frame.payload).substr(4), buffer, cap);
}

int member_barrier(w_out*, int timeout_ms) {
  std::string payload;
  put_i32(payload, timeout_ms);
  std::string frame_bytes;
  append_frame(frame_bytes, kFrameBarrier, payload);
  if (!send_all(frame_bytes)) _exit(0);
  Frame frame;
  await_frame(kFrameBarrierDone, frame);
  return get_i32(frame.payload);
}

[[noreturn]] void fail_init(const std::string& why) {
  std::string frame;
  append_frame(frame, kFrameInitFailed, why);
  send_all(frame);
  _exit(1);
}

// SIGSYS from the seccomp trap: tell the worker which call it was, then die.
// Only async-signal-safe calls; the frame is built in a stack buffer.
void on_sigsys(int, siginfo_t* info, void*) {
  const uint32_t nr = static_cast<uint32_t>(info->si_syscall);
  char frame[kFrameHeader + 4] = {4,
                                  0,
                                  0,
                                  0,
                                  static_cast<char>(kFrameForbidden),
                                  static_cast<char>(nr & 0xff),
                                  static_cast<char>((nr >> 8) & 0xff),
                                  static_cast<char>((nr >> 16) & 0xff),
                                  static_cast<char>((nr >> 24) & 0xff)};
  ssize_t ignored = ::write(kChildFd, frame, sizeof frame);
  (void)ignored;
  _exit(kForbiddenExit);
}

void set_limits(const SlotConfig& config) {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);  // a crashing kernel must not litter core files
  // No RLIMIT_FSIZE: seccomp already keeps the kernel from opening files, and
  // a zero limit killed it with SIGXFSZ for printing when the worker's stderr
  // is a log file.
  // ASan reserves terabytes of shadow address space, so an address-space cap
  // would break the sanitizer build; there the memory limit is not enforced.
  if (config.memory_mb > 0 && !W_UNDER_ASAN) {
    rlim_t bytes = static_cast<rlim_t>(config.memory_mb) << 20;
    struct rlimit as = {bytes, bytes};
    setrlimit(RLIMIT_AS, &as);
  }
}

// Moves the socket to kChildFd, points stdin at /dev/null and stdout at
// stderr (a kernel's printf must not corrupt the result stream), and closes
// every other descriptor the worker had open.
void arrange_fds(int sock) {
  if (sock != kChildFd) {
    dup2(sock, kChildFd);
    close(sock);
  }
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) {
    dup2(devnull, STDIN_FILENO);
    if (devnull != STDIN_FILENO) close(devnull);
  }
  dup2(STDERR_FILENO, STDOUT_FILENO);
  syscall(SYS_close_range, kChildFd + 1, ~0U, 0);
}

// The worker's signal handlers (and a test harness's) must not run inside
// the kernel's process: a crash there has to end the child plainly. The
// signals that stop a whole process group (Ctrl-C, a hangup, `srun` and
// `scancel` signal every process of a job) are for the worker, which
// drains and lets the running task finish; it ends its slots itself
// (SIGKILL), and PR_SET_PDEATHSIG ends them if it dies.
void reset_signals() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    // SIGPIPE too: a write to a direct link whose peer is gone is an error
    // the member reports, not its death.
    signal(sig,
           sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGPIPE ? SIG_IGN : SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

void run_task(MainFn w_main_fn, std::string_view input, std::string_view restore, int rank,
              int size, std::string& reply) {
  w_out out;
  std::memset(&out, 0, sizeof out);
  out.checkpoint = send_checkpoint;
  out.rank = rank;
  out.group_size = size;
  if (size > 1) {
    out.send = member_send;
    out.recv = member_recv;
    out.barrier = member_barrier;
  }
  if (!restore.empty()) {
    out.restore = reinterpret_cast<const uint8_t*>(restore.data());
    out.restore_n = restore.size();
  }
  const double t0 = now_ms();
  const int rc = w_main_fn(reinterpret_cast<const uint8_t*>(input.data()), input.size(), &out);
  const double ms = now_ms() - t0;
  links().reset();  // the worker takes the links back with the result
  for (int fd : passed_fds()) ::close(fd);
  passed_fds().clear();
  char ms_bytes[8];
  std::memcpy(ms_bytes, &ms, sizeof ms_bytes);
  if (rc == 0) {
    append_frame(reply, kFrameResult, {ms_bytes, 8},
                 {reinterpret_cast<const char*>(out.data), out.size});
  } else {
    std::string why = out.error ? out.error : "w_main returned " + std::to_string(rc);
    append_frame(reply, kFrameTaskError, {ms_bytes, 8}, why);
  }
  std::free(out.data);
  std::free(out.error);
}

}  // namespace

void child_main(const SlotConfig& config, int sock) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the worker
  arrange_fds(sock);
  reset_signals();
  // Nothing this process or its kernel does may gain privileges (setuid
  // binaries, file capabilities); Landlock and seccomp require it.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail_init("prctl(PR_SET_NO_NEW_PRIVS) failed");
  set_limits(config);

  if (config.seccomp) {
    if (landlock_abi() > 0) {
      Status s = restrict_filesystem(config.kernel_path);
      if (!s.ok()) fail_init(s.message());
    } else if (!config.insecure_sandbox) {
      fail_init(kNoLandlock);
    }
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, nullptr);
    Status s = install_load_filter();
    if (!s.ok()) fail_init(s.message());
  }

  void* handle = dlopen(config.kernel_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::string why = std::string("load kernel: ") + dlerror();
    if (config.seccomp && why.find("cannot open shared object") != std::string::npos)
      why +=
          " (the sandbox lets a kernel link only libraries in the system's library "
          "directories: link your own statically)";
    fail_init(why);
  }
  auto w_main_fn = reinterpret_cast<MainFn>(dlsym(handle, "w_main"));
  if (!w_main_fn) fail_init("load kernel '" + config.kernel_path + "': it does not export w_main");
  auto w_init_fn = reinterpret_cast<InitFn>(dlsym(handle, "w_init"));

  if (config.seccomp) {
    Status s = install_run_filter();
    if (!s.ok()) fail_init(s.message());
  }
  if (w_init_fn) {
    const int rc = w_init_fn(reinterpret_cast<const uint8_t*>(config.static_data.data()),
                             config.static_data.size());
    if (rc != 0) fail_init("w_init returned " + std::to_string(rc));
  }
  std::string out;
  append_frame(out, kFrameReady, {});
  if (!send_all(out)) _exit(0);

  Frame frame;
  char buf[64 * 1024];
  while (true) {
    auto got = reader().next(frame);
    if (!got.ok()) _exit(2);
    if (*got) {
      std::string_view input = frame.payload, restore;
      int rank = 0, size = 1;
      if (frame.type == kFrameTaskRestore) {
        if (!split_task_restore(frame.payload, input, restore)) _exit(2);
      } else if (frame.type == kFrameMember) {
        if (!split_member(frame.payload, rank, size, input, restore)) _exit(2);
      } else if (frame.type != kFrameTask) {
        _exit(2);
      }
      // `input` points into `frame`; the hooks read their answers into frames of their own.
      out.clear();
      run_task(w_main_fn, input, restore, rank, size, out);
      if (!send_all(out)) _exit(0);
      continue;
    }
    ssize_t n = read_worker(buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0);  // the worker closed the socket: done
    reader().append(buf, static_cast<size_t>(n));
  }
}

}  // namespace w::sandbox
