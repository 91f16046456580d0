#include "direct_conn.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace w::worker {
namespace {
constexpr int kMaxIov = 64;
}  // namespace

bool write_some(Conn& c) {
  while (!c.out.empty() && c.state != Conn::kConnecting) {
    iovec iov[kMaxIov];
    int n = 0;
    for (auto it = c.out.begin(); it != c.out.end() && n + 2 <= kMaxIov; ++it) {
      size_t at = it->done;
      if (at < it->head_size) {
        iov[n++] = {it->head + at, it->head_size - at};
        at = it->head_size;
      }
      const size_t off = at - it->head_size;
      if (off < it->body.size()) iov[n++] = {it->body.data() + off, it->body.size() - off};
    }
    const ssize_t wrote = ::writev(c.fd, iov, n);
    if (wrote < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      c.dead = true;
      c.why = fmt::format("write: {}", strerror(errno));
      return false;
    }
    auto left = static_cast<size_t>(wrote);
    while (left > 0) {
      Out& o = c.out.front();
      const size_t take = std::min(left, o.size() - o.done);
      o.done += take;
      left -= take;
      if (o.done == o.size()) {
        c.out_bytes -= o.counted;
        c.out.pop_front();
      }
    }
  }
  return true;
}

}  // namespace w::worker
