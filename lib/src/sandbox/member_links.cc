#include "member_links.h"

#include <poll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "frame.h"
#include "group.h"
#include "w_kernel.h"

namespace w::sandbox {
namespace {

constexpr size_t kHeld = 32u << 20;  // read ahead per link while a send waits
constexpr size_t kChunk = 256u << 10;

void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

long long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

void MemberLinks::reset() {
  for (Link& l : links_) ::close(l.fd);
  links_.clear();
}

void MemberLinks::set_writer(int rank, int fd) {
  Link l;
  l.rank = rank, l.fd = fd, l.writer = true;
  links_.push_back(std::move(l));
}

void MemberLinks::set_reader(int rank, int fd) {
  Link l;
  l.rank = rank, l.fd = fd;
  links_.push_back(std::move(l));
}

MemberLinks::Link* MemberLinks::find(int rank, bool writer) {
  for (Link& l : links_)
    if (l.rank == rank && l.writer == writer) return &l;
  return nullptr;
}

const MemberLinks::Link* MemberLinks::find(int rank, bool writer) const {
  for (const Link& l : links_)
    if (l.rank == rank && l.writer == writer) return &l;
  return nullptr;
}

bool MemberLinks::reads_from(int rank) const {
  const Link* l = find(rank, false);
  return l && (!l->ended || !l->messages.empty() || (!l->corrupt && l->at < l->len));
}

void MemberLinks::end(Link& l, bool finished) {
  if (l.ended) return;
  l.ended = true;
  note_(l.rank, finished ? kLinkNoteFinished : kLinkNoteLost);
}

long MemberLinks::front(Link& l) {
  LinkHead head;
  while (!l.corrupt) {
    const int got = decode_link_head(std::string_view(l.in).substr(l.at, l.len - l.at), l.rank,
                                     W_MESSAGE_MAX, head);
    if (got == 0) break;
    if (got < 0) {
      l.corrupt = true;  // not the peer's framing: nothing more can be trusted on it
      end(l, false);
      break;
    }
    if (head.kind == kBodyMessage) return static_cast<long>(head.message);
    if (head.kind == kBodyBarrier) note_(l.rank, kLinkNoteBarrier);
    if (head.kind == kBodyFinished) end(l, true);
    l.at += kLinkHead;
  }
  return -1;
}

void MemberLinks::take_all(Link& l) {
  for (long n; (n = front(l)) >= 0 && l.len - l.at - kLinkHead >= static_cast<size_t>(n);) {
    l.messages.emplace_back(l.in, l.at + kLinkHead, static_cast<size_t>(n));
    l.message_bytes += static_cast<size_t>(n);
    l.at += kLinkHead + static_cast<size_t>(n);
  }
}

int MemberLinks::fill(Link& l) {
  if (l.ended) return -1;
  if (l.at == l.len) {
    l.at = l.len = 0;
  } else if (l.at > l.in.size() / 2) {
    std::memmove(l.in.data(), l.in.data() + l.at, l.len - l.at);
    l.len -= l.at;
    l.at = 0;
  }
  if (l.in.size() < l.len + kChunk) l.in.resize(l.len + kChunk);
  while (true) {
    const ssize_t got = ::read(l.fd, l.in.data() + l.len, l.in.size() - l.len);
    if (got > 0) {
      l.len += static_cast<size_t>(got);
      return 1;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return 0;
    end(l, false);  // closed (or reset) before the peer said it finished
    return -1;
  }
}

bool MemberLinks::send(int self, int to, const void* bytes, size_t n) {
  Link* w = find(to, true);
  if (!w || w->ended) return false;
  char head[kLinkHead];
  put_u32(head, static_cast<uint32_t>(n + 5));
  head[4] = static_cast<char>(kBodyMessage);
  put_u32(head + 5, static_cast<uint32_t>(self));
  size_t done = 0;
  const size_t total = kLinkHead + n;
  while (done < total) {
    iovec iov[2];
    int k = 0;
    if (done < kLinkHead) iov[k++] = {head + done, kLinkHead - done};
    const size_t off = done < kLinkHead ? 0 : done - kLinkHead;
    if (n > off) iov[k++] = {const_cast<char*>(static_cast<const char*>(bytes)) + off, n - off};
    const ssize_t wrote = ::writev(w->fd, iov, k);
    if (wrote > 0) {
      done += static_cast<size_t>(wrote);
      continue;
    }
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0 && errno != EAGAIN) {
      w->ended = true;  // the worker hears of it and answers the calls from now on
      note_(to, kLinkNoteLost);
      return false;
    }
    // The socket is full: wait, reading what the handed links bring.
    std::vector<pollfd> fds{{w->fd, POLLOUT, 0}};
    std::vector<Link*> readers;
    for (Link& l : links_)
      if (!l.writer && !l.ended && l.message_bytes < kHeld) {
        fds.push_back({l.fd, POLLIN, 0});
        readers.push_back(&l);
      }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return false;
    for (size_t i = 0; i < readers.size(); ++i)
      if (fds[i + 1].revents && readers[i]->message_bytes < kHeld && fill(*readers[i]) >= 0)
        take_all(*readers[i]);
  }
  return true;
}

MemberLinks::Got MemberLinks::recv(int from, int timeout_ms, void* buffer, size_t cap,
                                   size_t& length) {
  Link* r = find(from, false);
  if (!r) return Got::kEnded;
  char* out = static_cast<char*>(buffer);
  if (!out) cap = 0;
  const long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  while (true) {
    if (!r->messages.empty()) {
      const std::string& m = r->messages.front();
      length = m.size();
      m.copy(out, std::min(cap, m.size()));
      r->message_bytes -= m.size();
      r->messages.pop_front();
      return Got::kMessage;
    }
    const long n = front(*r);
    if (n >= 0) {
      const auto size = static_cast<size_t>(n);
      const size_t have = r->len - r->at - kLinkHead;
      if (have >= size) {  // whole: one copy out of the buffer
        length = size;
        std::memcpy(out, r->in.data() + r->at + kLinkHead, std::min(cap, size));
        r->at += kLinkHead + size;
        return Got::kMessage;
      }
      if (size >= kChunk && cap >= size) {
        // A large one begun: the rest straight into the caller's buffer. It
        // is finished whatever the timeout; its sender is writing it now.
        std::memcpy(out, r->in.data() + r->at + kLinkHead, have);
        r->at = r->len = 0;
        for (size_t done = have; done < size;) {
          const ssize_t got = ::read(r->fd, out + done, size - done);
          if (got > 0) {
            done += static_cast<size_t>(got);
          } else if (got < 0 && errno == EAGAIN) {
            pollfd p{r->fd, POLLIN, 0};
            ::poll(&p, 1, -1);
          } else if (got == 0 || errno != EINTR) {
            end(*r, false);
            return Got::kEnded;
          }
        }
        length = size;
        return Got::kMessage;
      }
    }
    if (r->ended) return Got::kEnded;
    if (fill(*r) != 0) continue;
    int wait = -1;
    if (deadline >= 0) {
      const long long left = deadline - now_ms();
      if (left <= 0) return Got::kTimeout;
      wait = static_cast<int>(left);
    }
    pollfd p{r->fd, POLLIN, 0};
    if (::poll(&p, 1, wait) < 0 && errno != EINTR) return Got::kEnded;
  }
}

}  // namespace w::sandbox
