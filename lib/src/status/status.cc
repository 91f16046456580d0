#include "w/status.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// GNU strerror_r (glibc) returns the text; the XSI one (musl, in the
// browser build) fills `buf` and returns 0.
[[maybe_unused]] const char* error_text(const char* text, const char*) {
  return text;
}
[[maybe_unused]] const char* error_text(int rc, const char* buf) {
  return rc == 0 ? buf : "unknown error";
}

}  // namespace

namespace w {

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return {code_, std::move(m)};
}

Status errno_status(std::string_view what, int err) {
  Code code = Code::kIo;
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      code = Code::kNotFound;
      break;
    case EACCES:
    case EPERM:
      code = Code::kDenied;
      break;
    case EPIPE:
      code = Code::kBrokenPipe;
      break;
    case EINVAL:
      code = Code::kInvalid;
      break;
    default:
      break;
  }
  std::string m(what);
  m += ": ";
  // strerror_r, not strerror: wsql's worker threads build these too, and
  // strerror may hand back one static buffer.
  char buf[256] = "";
  m += error_text(strerror_r(err, buf, sizeof buf), buf);
  return {code, std::move(m)};
}

namespace detail {

void result_without_value(const Status& status) {
  // One write, so the line is whole even when other threads print too.
  std::string m = "fatal: the value of a Result was used, but it holds an error: ";
  m += status.message().empty() ? "(no message)" : status.message();
  m += '\n';
  std::fwrite(m.data(), 1, m.size(), stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail
}  // namespace w
