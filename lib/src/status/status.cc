#include "w/status.h"

#include <cerrno>
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

}  // namespace w
