// files: one dataset per file, its bytes carried as msgpack bin.
//
// Memory is one file at a time (a record is a whole file, by definition),
// capped by what a msgpack bin can hold.
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include <fmt/format.h>

#include "w/gen.h"
#include "w/msgpack.h"

namespace w::gen {
namespace {

// Frees a glob_t however the function returns.
struct Glob {
  glob_t g{};
  ~Glob() { globfree(&g); }
};

// Reads the whole regular file `path` into `data`; false (and ok) if it is
// not a regular file, so directories that match the glob are skipped.
Result<bool> read_file(const std::string& path, std::string& data) {
  // O_NONBLOCK: a FIFO that matches must not hang open(); fstat skips it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_status(fmt::format("open '{}'", path), errno);
  struct stat st {};
  Status status;
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular && static_cast<uint64_t>(st.st_size) > UINT32_MAX)
    status = Status::Invalid(fmt::format("'{}' is over 4 GiB, more than one dataset holds", path));
  data.clear();
  char buf[64 << 10];
  while (regular && status.ok()) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = errno_status(fmt::format("read '{}'", path), errno);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > UINT32_MAX)
      status = Status::Invalid(fmt::format("'{}' grew past 4 GiB", path));
  }
  ::close(fd);
  if (!status.ok()) return status;
  return regular;
}

}  // namespace

Status files(const std::string& pattern, stream::RecordWriter& out) {
  Glob match;
  const int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &match.g);
  if (rc == GLOB_NOMATCH)
    return Status::NotFound(fmt::format("files: nothing matches '{}'", pattern));
  if (rc == GLOB_ABORTED) return errno_status(fmt::format("files: glob '{}'", pattern), errno);
  if (rc != 0) return Status::Io(fmt::format("files: glob '{}': out of memory", pattern));
  std::string data, rec;
  for (size_t i = 0; i < match.g.gl_pathc; ++i) {
    const std::string path = match.g.gl_pathv[i];
    auto regular = read_file(path, data);
    if (!regular.ok()) return regular.status();
    if (!*regular) continue;
    rec.clear();
    mp::Packer pk(rec);
    pk.map(3);
    pk.str("name");
    pk.str(path);
    pk.str("size");
    pk.integer(static_cast<int64_t>(data.size()));
    pk.str("data");
    pk.bin(data.data(), data.size());
    W_RETURN_IF_ERROR(out.write(rec));
  }
  return {};
}

}  // namespace w::gen
