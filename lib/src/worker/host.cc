// What the worker knows of its machine: its cache directory, its identity
// key, and the load and memory its heartbeats report (split from
// pool_worker.cc, which keeps the protocol session).
#include "host.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "w/proc.h"

namespace w::worker {

namespace {

// The resident bytes of process `pid` ("self" or a number), or 0.
int64_t rss_of(std::string_view pid) {
  const auto memory = util::process_memory(pid);
  return memory ? memory->resident_bytes : 0;
}

}  // namespace

// What a heartbeat tells the dashboard of this worker: the host's 1-minute
// load average per CPU, and the resident memory of this process plus its
// slot processes (its children, where the kernels run; shared pages count
// once per process, so this is an upper bound).
proto::Heartbeat self_report() {
  proto::Heartbeat h;
  double avg = 0;
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (::getloadavg(&avg, 1) == 1 && cpus > 0) h.load = avg / static_cast<double>(cpus);
  h.rss = rss_of("self");
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream children(task.path() / "children");
    std::string child;
    while (children >> child) h.rss += rss_of(child);
  }
  return h;
}

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/wkit";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/wkit";
  return "/tmp/wkit-cache";
}

Status make_dirs(const std::string& path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!partial.empty() && ::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
        return errno_status(fmt::format("create '{}'", partial), errno);
    }
    if (i < path.size()) partial += path[i];
  }
  return {};
}

namespace {

// One key file: read it, or make it (written beside and linked into place,
// so two processes making it at once agree on one).
Result<std::string> key_in(const std::string& path) {
  auto read_key = [&]() -> Result<std::string> {
    std::ifstream in(path);
    std::string key;
    in >> key;
    if (key.size() != 64 || key.find_first_not_of("0123456789abcdef") != std::string::npos)
      return Status::Invalid(fmt::format(
          "'{}' is not a worker key (64 hex digits): remove it to make a new one", path));
    return key;
  };
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return read_key();
  unsigned char bytes[32];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    return errno_status("getrandom", errno);
  std::string key;
  for (unsigned char b : bytes) key += fmt::format("{:02x}", b);
  const std::string tmp = path + fmt::format(".{}.tmp", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status(fmt::format("create '{}'", tmp), errno);
  const std::string line = key + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  const int linked = written ? ::link(tmp.c_str(), path.c_str()) : -1;
  const int err = errno;
  ::unlink(tmp.c_str());
  if (!written) return errno_status(fmt::format("write '{}'", tmp), err);
  if (linked != 0 && err != EEXIST) return errno_status(fmt::format("create '{}'", path), err);
  return read_key();  // ours, or the one another worker linked first
}

}  // namespace

// The worker's identity: 32 random bytes (hex) in the cache directory,
// made on the first run (mode 0600). The pool keeps a hash of it; its flags
// and counts follow the key across restarts. A running worker holds its
// key's lock (flock on "<key>.lock", for its whole life: the descriptor is
// never closed), so a second wrun on the same cache takes worker.2.key, a
// third worker.3.key...: two processes never show up as one worker whose
// counts overwrite each other, and each keeps its key across restarts.
Result<std::string> worker_key(const std::string& dir) {
  W_RETURN_IF_ERROR(make_dirs(dir));
  constexpr int kMaxKeys = 256;  // workers on one cache at once
  for (int n = 1; n <= kMaxKeys; ++n) {
    const std::string path = n == 1 ? dir + "/worker.key" : fmt::format("{}/worker.{}.key", dir, n);
    const std::string lock = path + ".lock";
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return errno_status(fmt::format("create '{}'", lock), errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) continue;  // another running worker's key
      return errno_status(fmt::format("lock '{}'", lock), err);
    }
    return key_in(path);  // `fd` stays open: the lock lasts as long as we do
  }
  return Status{Code::kTempFail,
                fmt::format("'{}' has {} running workers already: give this one its own --cache",
                            dir, kMaxKeys)};
}

}  // namespace w::worker
