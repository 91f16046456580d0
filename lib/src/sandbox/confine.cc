// Landlock and the two seccomp filters of a slot process (see confine.h).
#include "confine.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include <fmt/format.h>

#include "child.h"
#include "w/diag.h"
#include "w/sandbox.h"

namespace w::sandbox {
namespace {

// Landlock's ABI, spelt out here: Debian 12's kernel headers stop at ABI 2,
// while the kernels it runs on may offer up to 7. The values are the
// kernel's stable ABI (include/uapi/linux/landlock.h).
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI >= 4
  uint64_t scoped;              // ABI >= 6
};
struct PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

constexpr uint64_t kFsExecute = 1ULL << 0;
constexpr uint64_t kFsReadFile = 1ULL << 2;
constexpr uint64_t kFsReadDir = 1ULL << 3;
constexpr uint64_t kFsAbi1 = (1ULL << 13) - 1;      // execute .. make_sym
constexpr uint64_t kFsRefer = 1ULL << 13;           // ABI 2
constexpr uint64_t kFsTruncate = 1ULL << 14;        // ABI 3
constexpr uint64_t kFsIoctlDev = 1ULL << 15;        // ABI 5
constexpr uint64_t kNetBindTcp = 1ULL << 0;         // ABI 4
constexpr uint64_t kNetConnectTcp = 1ULL << 1;      // ABI 4
constexpr uint64_t kScopeAbstractUnix = 1ULL << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ULL << 1;        // ABI 6

// Where the dynamic linker finds the libraries a kernel links. A kernel's
// own libraries elsewhere cannot be loaded: link them statically.
constexpr const char* kLibraryDirs[] = {"/lib", "/lib64", "/usr/lib", "/usr/lib64",
                                        "/usr/local/lib"};
constexpr const char* kLibraryFiles[] = {"/etc/ld.so.cache"};

int add_rule(int ruleset, const char* path, uint64_t access) {
  const int fd = ::open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return 0;  // not on this system: nothing to allow
  PathBeneathAttr rule = {access, fd};
  const long rc = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? 0 : err;
}

// Rules are added with scmp_rule(); any failure is kept in `rc`.
struct Filter {
  scmp_filter_ctx ctx;
  int rc = 0;

  explicit Filter(uint32_t default_action) : ctx(seccomp_init(default_action)) {
    // no_new_privs is set once by the slot (child_main), not per filter.
    if (ctx) rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  }
  ~Filter() {
    if (ctx) seccomp_release(ctx);
  }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  void allow(int nr) { rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); }
  void allow_on_fd(int nr, int fd) {
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                           SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(fd)));
  }

  // Both stages: the run's rules must pass the load filter too.
  void allow_links() {
    // Direct links the worker hands a member (member_links.h) come as
    // descriptors on its socket, numbered from kChildFd + 1 up: I/O on those.
    // The kernel cannot make a descriptor of its own (no open, socket, pipe,
    // dup), so every one below 64 is ours (closing its own socket to the
    // worker or stderr would only cut the kernel off).
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvmsg), 1,
                           SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(kChildFd)));
    for (int nr : {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close)})
      rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ~63ull, 0));
    for (int nr : {SCMP_SYS(poll), SCMP_SYS(ppoll)}) allow(nr);
  }

  // What libc needs to compute, report and exit, in both stages: stdio on
  // the worker's socket and stderr (stdout is stderr in a slot), memory,
  // clocks, randomness, futexes, and signals to itself only (abort()).
  void allow_computing() {
    for (int fd : {kChildFd, STDERR_FILENO, STDOUT_FILENO}) {
      allow_on_fd(SCMP_SYS(read), fd);
      allow_on_fd(SCMP_SYS(write), fd);
      allow_on_fd(SCMP_SYS(writev), fd);
      // stdio asks whether stderr is a terminal the first time it is used.
      rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
                             SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(fd)),
                             SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(TCGETS)));
    }
    for (int nr : {SCMP_SYS(brk),
                   SCMP_SYS(munmap),
                   SCMP_SYS(mremap),
                   SCMP_SYS(madvise),
                   SCMP_SYS(clock_gettime),
                   SCMP_SYS(clock_getres),
                   SCMP_SYS(gettimeofday),
                   SCMP_SYS(time),
                   SCMP_SYS(nanosleep),
                   SCMP_SYS(clock_nanosleep),
                   SCMP_SYS(getrandom),
                   SCMP_SYS(futex),
                   SCMP_SYS(sched_yield),
                   SCMP_SYS(rt_sigreturn),
                   SCMP_SYS(rt_sigprocmask),
                   SCMP_SYS(getpid),
                   SCMP_SYS(gettid),
                   SCMP_SYS(fstat),
                   SCMP_SYS(newfstatat),
                   SCMP_SYS(exit),
                   SCMP_SYS(exit_group)})
      allow(nr);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                           SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid())));
    // In the sanitizer build the worker's ASan runtime, inherited by the
    // child, intercepts __cxa_throw and sets up an alternate signal stack:
    // without this a C++ kernel that fails a task by throwing killed its slot.
    if (W_UNDER_ASAN) allow(SCMP_SYS(sigaltstack));
  }

  Status load(const char* stage) {
    if (!ctx) return Status::Internal(fmt::format("seccomp_init ({} filter) failed", stage));
    if (rc != 0) return Status::Internal(fmt::format("seccomp_rule_add ({} filter) failed", stage));
    const int err = seccomp_load(ctx);
    if (err != 0) return errno_status(fmt::format("seccomp_load ({} filter)", stage), -err);
    return {};
  }
};

}  // namespace

int landlock_abi() {
  const long abi =
      syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

Status check_confinement(const SlotConfig& config) {
  if (!config.seccomp || landlock_abi() > 0) return {};
  if (!config.insecure_sandbox) return Status(Code::kDenied, kNoLandlock);
  static bool warned = false;
  if (!warned) {
    warned = true;
    diag::warning(
        "this Linux kernel has no Landlock: kernels load under seccomp alone "
        "(--insecure-sandbox); they can read any file this user can");
  }
  return {};
}

Status restrict_filesystem(const std::string& kernel_path) {
  const int abi = landlock_abi();
  if (abi < 1) return Status(Code::kDenied, "Landlock is not available on this Linux kernel");
  RulesetAttr attr = {kFsAbi1, 0, 0};
  size_t attr_size = sizeof attr.handled_access_fs;
  if (abi >= 2) attr.handled_access_fs |= kFsRefer;
  if (abi >= 3) attr.handled_access_fs |= kFsTruncate;
  if (abi >= 4) {
    attr.handled_access_net = kNetBindTcp | kNetConnectTcp;  // no rule: none allowed
    attr_size = offsetof(RulesetAttr, scoped);
  }
  if (abi >= 5) attr.handled_access_fs |= kFsIoctlDev;
  if (abi >= 6) {
    attr.scoped = kScopeAbstractUnix | kScopeSignal;
    attr_size = sizeof attr;
  }
  const int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0));
  if (ruleset < 0) return errno_status("landlock_create_ruleset", errno);
  int err = 0;
  for (const char* dir : kLibraryDirs)
    if (!err) err = add_rule(ruleset, dir, kFsReadFile | kFsReadDir | kFsExecute);
  for (const char* file : kLibraryFiles)
    if (!err) err = add_rule(ruleset, file, kFsReadFile);
  if (!err) err = add_rule(ruleset, kernel_path.c_str(), kFsReadFile | kFsExecute);
  if (!err && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) err = errno;
  ::close(ruleset);
  if (err) return errno_status("Landlock", err);
  return {};
}

Status install_load_filter() {
  Filter f(SCMP_ACT_TRAP);
  f.allow_computing();
  f.allow_links();
  // dlopen: files are opened read-only (Landlock decides which), read,
  // mapped (code is mapped executable) and closed.
  f.rc |= seccomp_rule_add(
      f.ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
      SCMP_A2(SCMP_CMP_MASKED_EQ,
              static_cast<scmp_datum_t>(O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_PATH), 0));
  for (int nr : {SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(close), SCMP_SYS(mmap),
                 SCMP_SYS(mprotect), SCMP_SYS(lseek)})
    f.allow(nr);
  // The run filter is installed from this stage. A kernel may add filters
  // of its own too: they can only take more away.
  f.allow(SCMP_SYS(seccomp));
  // The run filter's canary. Across filters the strictest action wins
  // (a trap here would beat the run filter's errno).
  f.allow(SCMP_SYS(getppid));
  return f.load("load");
}

Status install_run_filter() {
  Filter f(SCMP_ACT_TRAP);
  f.allow_computing();
  f.allow_links();
  // Memory, never executable: no JIT, no shellcode.
  for (int nr : {SCMP_SYS(mmap), SCMP_SYS(mprotect)})
    f.rc |=
        seccomp_rule_add(f.ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  // The canary: getppid fails with an errno drawn now, after every line of
  // the kernel's load-time code has run, so no filter of the kernel's can
  // fake it. If it does not come back, this filter is not in force.
  uint32_t draw = 0;
  if (getrandom(&draw, sizeof draw, 0) != sizeof draw) return errno_status("getrandom", errno);
  const int canary = 1000 + static_cast<int>(draw % 3000);
  f.rc |=
      seccomp_rule_add(f.ctx, SCMP_ACT_ERRNO(static_cast<uint32_t>(canary)), SCMP_SYS(getppid), 0);
  W_RETURN_IF_ERROR(f.load("run"));
  errno = 0;
  const long rc = syscall(SYS_getppid);
  if (rc != -1 || errno != canary)
    return Status(Code::kDenied, "the kernel interfered with the sandbox while loading");
  return {};
}

}  // namespace w::sandbox
