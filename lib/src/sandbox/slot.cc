// The worker's side of a slot: fork, talk frames, and explain deaths.
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "child.h"
#include "frame.h"
#include "w/sandbox.h"
#include "w_kernel.h"

namespace w::sandbox {
namespace {

// A frame from a slot is at most its largest legitimate reply: a result
// (8 bytes of ms, then the output), a member's message or a checkpoint.
size_t max_frame(size_t max_output) {
  return std::max<size_t>({max_output + 8, W_MESSAGE_MAX + 4, W_CHECKPOINT_MAX});
}

// The longest reason a kernel's w_fail may give; the rest is cut.
constexpr size_t kMaxError = 4000;

std::string mib(size_t bytes) {
  return bytes % (1u << 20) == 0 ? fmt::format("{} MiB", bytes >> 20)
                                 : fmt::format("{} bytes", bytes);
}

double take_ms(std::string& payload) {
  double ms = 0;
  if (payload.size() >= 8) {
    std::memcpy(&ms, payload.data(), 8);
    payload.erase(0, 8);
  }
  return ms;
}

std::string syscall_name(int nr) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  std::string s = name ? name : fmt::format("#{}", nr);
  std::free(name);
  return s;
}

}  // namespace

Slot::Slot(pid_t pid, int fd, int index, size_t memory_mb, size_t max_output)
    : pid_(pid),
      fd_(fd),
      index_(index),
      memory_mb_(memory_mb),
      max_output_(max_output),
      reader_(std::make_unique<FrameReader>(max_frame(max_output))) {}

Slot::~Slot() {
  if (!reaped_) reap();
  if (fd_ >= 0) close(fd_);
  for (const PassedFd& p : passing_) close(p.fd);
}

Result<std::unique_ptr<Slot>> Slot::start(const SlotConfig& given, int index) {
  // A relative kernel path (wrun --cache ./cache) would make the child's
  // dlopen ask getcwd, which its seccomp filter forbids: resolve it here.
  SlotConfig config = given;
  if (!config.kernel_path.empty() && config.kernel_path.front() != '/') {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(config.kernel_path, ec);
    if (ec)
      return Status(Code::kIo, fmt::format("kernel '{}': {}", config.kernel_path, ec.message()));
    config.kernel_path = absolute.string();
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return errno_status("socketpair", errno);
  const pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    return errno_status("fork slot process", err);
  }
  if (pid == 0) {
    close(sv[0]);
    int sock = fcntl(sv[1], F_DUPFD, kChildFd);  // without CLOEXEC, above stdio
    child_main(config, sock);
  }
  close(sv[1]);
  std::unique_ptr<Slot> slot(new Slot(pid, sv[0], index, config.memory_mb, config.max_output));

  // Wait for READY (or the reason there will be none) within init_timeout.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long>(config.init_timeout * 1000));
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Status(Code::kTimeout, fmt::format("kernel '{}' did not initialise within {} s",
                                                config.kernel_path, config.init_timeout));
    struct pollfd pfd = {slot->fd_, POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR) return errno_status("poll", errno);
    if (rc <= 0) continue;
    auto open = slot->read_some();
    if (!open.ok()) return open.status();
    Frame frame;
    auto got = slot->reader_->next(frame);
    if (!got.ok()) return got.status();
    if (*got) {
      if (frame.type == kFrameReady) break;
      if (frame.type == kFrameInitFailed)
        return Status(Code::kInvalid,
                      fmt::format("kernel '{}': {}", config.kernel_path, frame.payload));
      if (frame.type == kFrameForbidden && frame.payload.size() == 4) {
        uint32_t nr;
        std::memcpy(&nr, frame.payload.data(), 4);
        slot->forbidden_syscall_ = static_cast<int>(nr);
        continue;
      }
      return Status::Internal(fmt::format("slot sent frame type {} before READY", frame.type));
    }
    if (!*open)
      return Status(Code::kInvalid, fmt::format("kernel '{}' died while loading: {}",
                                                config.kernel_path, slot->reap()));
  }
  if (fcntl(slot->fd_, F_SETFL, fcntl(slot->fd_, F_GETFL) | O_NONBLOCK) != 0)
    return errno_status("fcntl", errno);
  return slot;
}

void Slot::queue_task(std::string_view input, std::string_view restore) {
  append_task_frame(outbox_, input, restore);
}

void Slot::queue_member(std::string_view input, std::string_view restore, int rank, int size) {
  append_member_frame(outbox_, rank, size, input, restore);
}

// A copy of `fd` goes with the next frame queued: SCM_RIGHTS attached to
// its first byte, which the child reads with (or after) the descriptor.
void Slot::pass_fd(int fd) {
  if (fd < 0) return;
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy >= 0) passing_.push_back({outbox_.size(), copy});
}

void Slot::answer_send(int rc, int fd) {
  std::string p;
  put_i32(p, rc);
  pass_fd(fd);
  append_frame(outbox_, kFrameSendDone, p);
}

void Slot::answer_recv(int rc, std::string_view message, int fd) {
  std::string p;
  put_i32(p, rc);
  pass_fd(fd);
  append_frame(outbox_, kFrameRecvDone, p, rc < 0 ? std::string_view() : message);
}

void Slot::answer_barrier(int rc) {
  std::string p;
  put_i32(p, rc);
  append_frame(outbox_, kFrameBarrierDone, p);
}

Status Slot::flush() {
  while (!outbox_.empty()) {
    // Up to the next descriptor's frame plainly; that frame with it.
    ssize_t n;
    if (!passing_.empty() && passing_.front().at == 0) {
      iovec iov{outbox_.data(), outbox_.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &passing_.front().fd, sizeof(int));
      n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n > 0) {
        close(passing_.front().fd);
        passing_.erase(passing_.begin());
      }
    } else {
      const size_t upto = passing_.empty() ? outbox_.size() : passing_.front().at;
      n = ::send(fd_, outbox_.data(), upto, MSG_NOSIGNAL);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
      if (errno == EPIPE || errno == ECONNRESET) {
        outbox_.clear();  // the child is gone; read_replies() will see EOF
        for (const PassedFd& p : passing_) close(p.fd);
        passing_.clear();
        return {};
      }
      return errno_status("write to slot", errno);
    }
    outbox_.erase(0, static_cast<size_t>(n));
    for (PassedFd& p : passing_) p.at -= std::min(p.at, static_cast<size_t>(n));
  }
  return {};
}

Result<bool> Slot::read_some() {
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      reader_->append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof buf) return true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    if (errno == ECONNRESET) return false;
    return errno_status("read from slot", errno);
  }
}

Result<bool> Slot::read_replies(std::vector<Reply>& replies) {
  auto open = read_some();
  if (!open.ok()) return open.status();
  Frame frame;
  while (true) {
    // A result too large is refused on its header, before it is read.
    uint8_t type;
    size_t size;
    if (reader_->peek(type, size) && type == kFrameResult && size > max_output_ + 8)
      return Status(Code::kFailed, fmt::format("result larger than {} (the kernel returned {})",
                                               mib(max_output_), mib(size - 8)));
    auto got = reader_->next(frame);
    if (!got.ok())
      return Status(Code::kFailed, "protocol violation by kernel: " + got.status().message());
    if (!*got) break;
    Reply reply;
    switch (frame.type) {
      case kFrameResult:
        if (frame.payload.size() < 8)
          return Status(Code::kFailed, "protocol violation by kernel: a result frame without ms");
        reply.ok = true;
        reply.ms = take_ms(frame.payload);
        reply.output = std::move(frame.payload);
        replies.push_back(std::move(reply));
        break;
      case kFrameTaskError:
        if (frame.payload.size() < 8)
          return Status(Code::kFailed, "protocol violation by kernel: an error frame without ms");
        reply.ms = take_ms(frame.payload);
        reply.error = std::move(frame.payload);
        if (reply.error.size() > kMaxError) {
          // A reason is for people to read: long ones are cut (on a UTF-8 boundary).
          size_t cut = kMaxError;
          while (cut > 0 && (static_cast<unsigned char>(reply.error[cut]) & 0xc0) == 0x80) --cut;
          reply.error.resize(cut);
          reply.error += "...";
        }
        replies.push_back(std::move(reply));
        break;
      case kFrameCheckpoint:
        // The hook refuses larger states; a kernel that writes its own frames
        // past the limit loses the checkpoint, not the worker.
        if (frame.payload.size() > W_CHECKPOINT_MAX) break;
        reply.checkpoint = true;
        reply.output = std::move(frame.payload);
        replies.push_back(std::move(reply));
        break;
      case kFrameSend:
        if (frame.payload.size() < 4 || frame.payload.size() - 4 > W_MESSAGE_MAX)
          return Status(Code::kFailed, "protocol violation by kernel: a malformed message frame");
        reply.call = Call::kSend;
        reply.peer = get_i32(frame.payload);
        reply.output = frame.payload.substr(4);
        replies.push_back(std::move(reply));
        break;
      case kFrameRecv:
        if (frame.payload.size() != 8)
          return Status(Code::kFailed, "protocol violation by kernel: a malformed recv frame");
        reply.call = Call::kRecv;
        reply.peer = get_i32(frame.payload);
        reply.timeout_ms = get_i32(frame.payload, 4);
        replies.push_back(std::move(reply));
        break;
      case kFrameBarrier:
        if (frame.payload.size() != 4)
          return Status(Code::kFailed, "protocol violation by kernel: a malformed barrier frame");
        reply.call = Call::kBarrier;
        reply.timeout_ms = get_i32(frame.payload);
        replies.push_back(std::move(reply));
        break;
      case kFrameLinkNote:
        if (frame.payload.size() != 5)
          return Status(Code::kFailed, "protocol violation by kernel: a malformed link note");
        reply.call = Call::kLinkNote;
        reply.peer = get_i32(frame.payload);
        reply.note = static_cast<uint8_t>(frame.payload[4]);
        if (reply.note != kLinkNoteLost && reply.note != kLinkNoteBarrier &&
            reply.note != kLinkNoteFinished)
          return Status(Code::kFailed, "protocol violation by kernel: an unknown link note");
        replies.push_back(std::move(reply));
        break;
      case kFrameForbidden:
        if (frame.payload.size() == 4) {
          uint32_t nr;
          std::memcpy(&nr, frame.payload.data(), 4);
          forbidden_syscall_ = static_cast<int>(nr);
        }
        break;
      default:
        return Status(Code::kFailed,
                      fmt::format("protocol violation by kernel: a frame of type {}", frame.type));
    }
  }
  return *open;
}

std::string Slot::reap() {
  if (reaped_) return "already stopped";
  reaped_ = true;
  int status = 0;
  struct rusage usage;
  std::memset(&usage, 0, sizeof usage);
  pid_t got = wait4(pid_, &status, WNOHANG, &usage);
  if (got == 0) {
    kill(pid_, SIGKILL);
    while ((got = wait4(pid_, &status, 0, &usage)) < 0 && errno == EINTR) {
    }
  }
  if (got < 0) return fmt::format("lost track of slot process {}", pid_);
  if (forbidden_syscall_ >= 0)
    return fmt::format("forbidden system call: {} (the sandbox allows only computing)",
                       syscall_name(forbidden_syscall_));
  const double peak_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
  const bool near_limit = memory_mb_ > 0 && peak_mb >= 0.8 * static_cast<double>(memory_mb_);
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (near_limit && sig != SIGKILL)
      return fmt::format(
          "out of memory: crashed with SIG{} after using {:.0f} MB of its {} MB limit",
          sigabbrev_np(sig) ? sigabbrev_np(sig) : std::to_string(sig), peak_mb, memory_mb_);
    if (sig == SIGSYS) return "forbidden system call (killed by SIGSYS)";
    const char* abbrev = sigabbrev_np(sig);
    return fmt::format("crashed: SIG{} ({})", abbrev ? abbrev : std::to_string(sig),
                       sigdescr_np(sig) ? sigdescr_np(sig) : "unknown signal");
  }
  if (WIFEXITED(status))
    return fmt::format("kernel process exited with status {}", WEXITSTATUS(status));
  return "slot process ended";
}

}  // namespace w::sandbox
