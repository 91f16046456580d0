#include "w/status.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

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
  m += std::strerror(err);
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
