#include "direct.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "w/diag.h"
#include "w_kernel.h"

namespace w::worker {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kMagic[4] = {'W', 'K', 'L', '1'};
constexpr size_t kNonce = 16, kMac = 32;
constexpr size_t kMaxGroupId = 64;
constexpr size_t kHelloFixed = 4 + 1 + 8 + kNonce;  // + the group id
constexpr size_t kMaxBody = W_MESSAGE_MAX + 5;      // a w_send message and its header
constexpr size_t kInPlace = size_t{64} << 10;       // larger bodies are read in place
constexpr size_t kReadChunk = size_t{256} << 10;
constexpr size_t kReadPerPump = size_t{8} << 20;  // per connection: the others get their turn
constexpr auto kHandshakeTimeout = std::chrono::seconds(5);
constexpr size_t kMaxHandshaking = 32;
constexpr int kMaxIov = 64;

void put_u32(std::string& out, uint32_t n) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
}
uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 |
         static_cast<uint32_t>(u[2]) << 16 | static_cast<uint32_t>(u[3]) << 24;
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// role 'A' (acceptor) or 'D' (dialer) over everything both ends said.
std::string handshake_mac(const std::string& secret, char role, const std::string& group,
                          int dialer, int acceptor, const unsigned char* nonce_d,
                          const unsigned char* nonce_a) {
  std::string msg(1, role);
  msg += group;
  put_u32(msg, static_cast<uint32_t>(dialer));
  put_u32(msg, static_cast<uint32_t>(acceptor));
  msg.append(reinterpret_cast<const char*>(nonce_d), kNonce);
  msg.append(reinterpret_cast<const char*>(nonce_a), kNonce);
  unsigned char mac[kMac];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), kMac);
}

bool same_mac(const std::string& a, const char* b) {
  return a.size() == kMac && CRYPTO_memcmp(a.data(), b, kMac) == 0;
}

void set_socket_options(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string numeric_address(const sockaddr* sa, socklen_t len) {
  char host[NI_MAXHOST], port[NI_MAXSERV];
  if (getnameinfo(sa, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV))
    return {};
  return sa->sa_family == AF_INET6 ? fmt::format("[{}]:{}", host, port)
                                   : fmt::format("{}:{}", host, port);
}

// "HOST:PORT" / "[V6]:PORT" -> host, port.
bool split_address(const std::string& address, std::string& host, std::string& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  }
  return true;
}

struct Out {
  char head[4];
  size_t head_size = 0;  // 0: raw handshake bytes in body
  std::string body;
  size_t done = 0;  // bytes of head + body written
  size_t size() const { return head_size + body.size(); }
};

struct Conn {
  enum State { kConnecting, kDialerWait, kAcceptorHello, kAcceptorMac, kUp };
  int fd = -1;
  State state = kConnecting;
  bool dialer = false;
  std::string group;
  int local = -1, remote = -1;
  std::string secret;
  unsigned char nonce_d[kNonce]{}, nonce_a[kNonce]{};
  Clock::time_point deadline;
  std::string in;     // received bytes are in[0, in_len): the buffer is kept, not
  size_t in_len = 0;  // cleared, so a read does not pay for zeroing it
  std::string big;    // a large body, read in place
  size_t big_have = 0;
  bool reading_big = false;
  std::deque<Out> out;
  size_t out_bytes = 0;  // of bodies (the backlog); handshake bytes not counted
  bool dead = false;
  std::string why;
  std::string peer;  // acceptor: the dialer's address
};

class TcpLinks final : public DirectLinks {
 public:
  TcpLinks(int listener, std::string address, SecretFn secret)
      : listener_(listener), address_(std::move(address)), secret_(std::move(secret)) {}
  ~TcpLinks() override {
    for (auto& c : conns_) ::close(c->fd);
    ::close(listener_);
  }

  const std::string& address() const override { return address_; }

  void dial(const std::string& group, int local, int remote, const std::string& address,
            const std::string& secret) override {
    if (find(group, local, remote)) return;
    auto c = std::make_unique<Conn>();
    c->dialer = true;
    c->group = group, c->local = local, c->remote = remote, c->secret = secret;
    c->deadline = Clock::now() + kHandshakeTimeout;
    std::string host, port;
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (!split_address(address, host, port) ||
        getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) {
      failed_dial(group, local, remote, fmt::format("bad address '{}'", address));
      return;
    }
    c->fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int rc = c->fd < 0 ? -1 : ::connect(c->fd, res->ai_addr, res->ai_addrlen);
    const int err = errno;
    freeaddrinfo(res);
    if (c->fd < 0 || (rc < 0 && err != EINPROGRESS)) {
      if (c->fd >= 0) ::close(c->fd);
      failed_dial(group, local, remote, fmt::format("connect {}: {}", address, strerror(err)));
      return;
    }
    set_socket_options(c->fd);
    RAND_bytes(c->nonce_d, kNonce);
    std::string hello(kMagic, 4);
    hello += static_cast<char>(group.size());
    hello += group;
    put_u32(hello, static_cast<uint32_t>(local));
    put_u32(hello, static_cast<uint32_t>(remote));
    hello.append(reinterpret_cast<const char*>(c->nonce_d), kNonce);
    queue_raw(*c, std::move(hello));
    by_key_[{group, local, remote}] = c.get();
    conns_.push_back(std::move(c));
  }

  bool up(const std::string& group, int local, int remote) const override {
    auto it = by_key_.find({group, local, remote});
    return it != by_key_.end() && it->second->state == Conn::kUp && !it->second->dead;
  }

  bool send(const std::string& group, int local, int remote, std::string body) override {
    auto it = by_key_.find({group, local, remote});
    if (it == by_key_.end() || it->second->state != Conn::kUp || it->second->dead) return false;
    Conn& c = *it->second;
    Out o;
    const auto n = static_cast<uint32_t>(body.size());
    for (int i = 0; i < 4; ++i) o.head[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    o.head_size = 4;
    o.body = std::move(body);
    c.out_bytes += o.body.size();
    c.out.push_back(std::move(o));
    if (c.out.size() == 1) write_some(c);  // the common case: straight to the kernel
    return true;
  }

  size_t backlog(const std::string& group, int local) const override {
    size_t n = 0;
    for (const auto& c : conns_)
      if (c->local == local && c->group == group) n += c->out_bytes;
    return n;
  }

  void pump(std::vector<LinkEvent>& events) override {
    accept_all();
    const auto now = Clock::now();
    for (auto& cp : conns_) {
      Conn& c = *cp;
      if (c.dead) continue;
      if (c.state != Conn::kUp && now > c.deadline) {
        kill(c, "handshake timed out");
        continue;
      }
      if (c.state == Conn::kConnecting) {
        int err = 0;
        socklen_t len = sizeof err;
        pollfd p{c.fd, POLLOUT, 0};
        if (::poll(&p, 1, 0) <= 0) continue;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          kill(c, fmt::format("connect: {}", strerror(err)));
          continue;
        }
        c.state = Conn::kDialerWait;
      }
      if (!write_some(c)) continue;
      read_some(c, events);
      if (!c.dead) write_some(c);  // a handshake answer read just now
    }
    reap(events);
  }

  void pollfds(std::vector<struct pollfd>& out) const override {
    out.push_back({listener_, POLLIN, 0});
    for (const auto& c : conns_) {
      if (c->dead) continue;
      short ev = c->state == Conn::kConnecting ? POLLOUT : POLLIN;
      if (!c->out.empty()) ev |= POLLOUT;
      out.push_back({c->fd, ev, 0});
    }
  }

  int wait_ms() const override {
    int best = -1;
    const auto now = Clock::now();
    for (const auto& c : conns_) {
      if (c->dead) return 0;  // killed by a send: reported by the next pump
      if (c->state == Conn::kUp) continue;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(c->deadline - now).count() + 1;
      const int ms = static_cast<int>(std::max<long long>(0, left));
      if (best < 0 || ms < best) best = ms;
    }
    return best;
  }

  void close_member(const std::string& group, int local) override {
    for (auto& c : conns_)
      if (c->group == group && c->local == local && !c->dead) kill(*c, "closed");
    std::vector<LinkEvent> ignored;
    reap(ignored, false);
  }
  void close_group(const std::string& group) override {
    for (auto& c : conns_)
      if (c->group == group && !c->dead) kill(*c, "closed");
    std::vector<LinkEvent> ignored;
    reap(ignored, false);
  }
  uint64_t refused() const override { return refused_; }

 private:
  using Key = std::tuple<std::string, int, int>;

  Conn* find(const std::string& group, int local, int remote) {
    auto it = by_key_.find({group, local, remote});
    return it == by_key_.end() ? nullptr : it->second;
  }

  void failed_dial(const std::string& group, int local, int remote, std::string why) {
    ++refused_;
    LinkEvent e;
    e.kind = LinkEvent::kDown;
    e.group = group, e.local = local, e.remote = remote, e.reason = std::move(why);
    pending_.push_back(std::move(e));
  }

  void queue_raw(Conn& c, std::string bytes) {
    Out o;
    o.body = std::move(bytes);
    c.out.push_back(std::move(o));
  }

  void kill(Conn& c, std::string why) {
    c.dead = true;
    c.why = std::move(why);
  }
  bool refuse(Conn& c, std::string why) {
    kill(c, std::move(why));
    return false;
  }

  // Removes dead connections, reporting those with a key.
  void reap(std::vector<LinkEvent>& events, bool report = true) {
    for (auto& e : pending_) events.push_back(std::move(e));
    pending_.clear();
    for (auto it = conns_.begin(); it != conns_.end();) {
      Conn& c = **it;
      if (!c.dead) {
        ++it;
        continue;
      }
      const bool keyed = c.dialer || c.state == Conn::kUp;
      if (c.state != Conn::kUp) {
        ++refused_;
        // A stranger's attempts are counted, not each logged: anyone may knock.
        if (c.dialer)
          diag::info("direct link of {} rank {} to rank {}: {}", c.group, c.local, c.remote, c.why);
        else
          diag::debug("direct link from {}: {}", c.peer, c.why);
      }
      if (keyed) {
        auto k = by_key_.find({c.group, c.local, c.remote});
        if (k != by_key_.end() && k->second == &c) by_key_.erase(k);
        if (report) {
          LinkEvent e;
          e.kind = LinkEvent::kDown;
          e.group = c.group, e.local = c.local, e.remote = c.remote;
          e.reason = c.why;
          e.was_up = c.state == Conn::kUp;
          events.push_back(std::move(e));
        }
      }
      ::close(c.fd);
      it = conns_.erase(it);
    }
  }

  void accept_all() {
    while (true) {
      sockaddr_storage sa{};
      socklen_t len = sizeof sa;
      const int fd = ::accept4(listener_, reinterpret_cast<sockaddr*>(&sa), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      size_t handshaking = 0;
      for (const auto& c : conns_) handshaking += !c->dead && c->state != Conn::kUp;
      if (handshaking >= kMaxHandshaking) {
        ++refused_;
        ::close(fd);
        continue;
      }
      set_socket_options(fd);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->state = Conn::kAcceptorHello;
      c->peer = numeric_address(reinterpret_cast<sockaddr*>(&sa), len);
      c->deadline = Clock::now() + kHandshakeTimeout;
      conns_.push_back(std::move(c));
    }
  }

  // False when the connection died.
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
        kill(c, fmt::format("write: {}", strerror(errno)));
        return false;
      }
      auto left = static_cast<size_t>(wrote);
      while (left > 0) {
        Out& o = c.out.front();
        const size_t take = std::min(left, o.size() - o.done);
        o.done += take;
        left -= take;
        if (o.done == o.size()) {
          if (o.head_size) c.out_bytes -= o.body.size();
          c.out.pop_front();
        }
      }
    }
    return true;
  }

  void read_some(Conn& c, std::vector<LinkEvent>& events) {
    size_t budget = kReadPerPump;
    while (!c.dead && budget > 0) {
      ssize_t got;
      if (c.reading_big) {
        got = ::read(c.fd, c.big.data() + c.big_have, c.big.size() - c.big_have);
      } else {
        if (c.in.size() < c.in_len + kReadChunk) c.in.resize(c.in_len + kReadChunk);
        got = ::read(c.fd, c.in.data() + c.in_len, kReadChunk);
        if (got > 0) c.in_len += static_cast<size_t>(got);
      }
      if (got == 0) {
        kill(c, "the other end closed the link");
        return;
      }
      if (got < 0) {
        if (errno != EAGAIN && errno != EINTR) kill(c, fmt::format("read: {}", strerror(errno)));
        return;
      }
      budget -= std::min(budget, static_cast<size_t>(got));
      if (c.reading_big) {
        c.big_have += static_cast<size_t>(got);
        if (c.big_have == c.big.size()) {
          c.reading_big = false;
          data_event(c, std::move(c.big), events);
          c.big = {};
        }
        continue;
      }
      take(c, events);
    }
  }

  void data_event(Conn& c, std::string body, std::vector<LinkEvent>& events) {
    LinkEvent e;
    e.kind = LinkEvent::kData;
    e.group = c.group, e.local = c.local, e.remote = c.remote;
    e.data = std::move(body);
    events.push_back(std::move(e));
  }

  // What c.in holds: handshake steps, then whole bodies.
  void take(Conn& c, std::vector<LinkEvent>& events) {
    size_t at = 0;
    bool more = true;  // false: a handshake step waits for more bytes, or failed
    if (c.state == Conn::kAcceptorHello) more = acceptor_hello(c, at);
    if (more && c.state == Conn::kDialerWait) more = dialer_answer(c, at, events);
    if (more && c.state == Conn::kAcceptorMac) more = acceptor_mac(c, at, events);
    while (more && c.state == Conn::kUp && c.in_len - at >= 4) {
      const size_t len = get_u32(c.in.data() + at);
      if (len > kMaxBody) {
        kill(c, fmt::format("a message of {} bytes", len));
        return;
      }
      if (c.in_len - at - 4 >= len) {
        data_event(c, c.in.substr(at + 4, len), events);
        at += 4 + len;
        continue;
      }
      if (len >= kInPlace) {  // the rest goes straight into its own buffer
        c.big.resize(len);
        c.big_have = c.in_len - at - 4;
        std::memcpy(c.big.data(), c.in.data() + at + 4, c.big_have);
        c.reading_big = true;
        at = c.in_len;
      }
      break;
    }
    if (at == 0 || c.dead) return;
    std::memmove(c.in.data(), c.in.data() + at, c.in_len - at);
    c.in_len -= at;
  }

  bool acceptor_hello(Conn& c, size_t& at) {
    if (c.in_len < 5) return false;
    if (std::memcmp(c.in.data(), kMagic, 4) != 0) return refuse(c, "not a wkit link");
    const size_t glen = static_cast<uint8_t>(c.in[4]);
    if (glen == 0 || glen > kMaxGroupId) return refuse(c, "bad group id");
    if (c.in_len < kHelloFixed + glen) return false;
    std::string group = c.in.substr(5, glen);
    if (!std::all_of(group.begin(), group.end(), token_char)) return refuse(c, "bad group id");
    const auto dialer = static_cast<int>(get_u32(c.in.data() + 5 + glen));
    const auto acceptor = static_cast<int>(get_u32(c.in.data() + 9 + glen));
    std::memcpy(c.nonce_d, c.in.data() + 13 + glen, kNonce);
    at = kHelloFixed + glen;
    c.group = std::move(group);
    std::string secret = secret_(c.group, acceptor);
    if (secret.empty() || dialer < 0 || dialer == acceptor)
      return refuse(c, fmt::format("no member {} of {} here", acceptor, c.group));
    if (find(c.group, acceptor, dialer)) return refuse(c, "already linked");
    c.local = acceptor, c.remote = dialer, c.secret = std::move(secret);
    RAND_bytes(c.nonce_a, kNonce);
    std::string answer(reinterpret_cast<const char*>(c.nonce_a), kNonce);
    answer += handshake_mac(c.secret, 'A', c.group, dialer, acceptor, c.nonce_d, c.nonce_a);
    queue_raw(c, std::move(answer));
    c.state = Conn::kAcceptorMac;
    return true;
  }

  bool dialer_answer(Conn& c, size_t& at, std::vector<LinkEvent>& events) {
    if (c.in_len - at < kNonce + kMac) return false;
    std::memcpy(c.nonce_a, c.in.data() + at, kNonce);
    const std::string want =
        handshake_mac(c.secret, 'A', c.group, c.local, c.remote, c.nonce_d, c.nonce_a);
    if (!same_mac(want, c.in.data() + at + kNonce))
      return refuse(c, "the other end does not know the run's secret");
    at += kNonce + kMac;
    queue_raw(c, handshake_mac(c.secret, 'D', c.group, c.local, c.remote, c.nonce_d, c.nonce_a));
    up_event(c, events);
    return true;
  }

  bool acceptor_mac(Conn& c, size_t& at, std::vector<LinkEvent>& events) {
    if (c.in_len - at < kMac) return false;
    const std::string want =
        handshake_mac(c.secret, 'D', c.group, c.remote, c.local, c.nonce_d, c.nonce_a);
    if (!same_mac(want, c.in.data() + at))
      return refuse(c, "the other end does not know the run's secret");
    at += kMac;
    if (find(c.group, c.local, c.remote)) return refuse(c, "already linked");
    by_key_[{c.group, c.local, c.remote}] = &c;
    up_event(c, events);
    return true;
  }

  void up_event(Conn& c, std::vector<LinkEvent>& events) {
    c.state = Conn::kUp;
    c.secret.clear();
    LinkEvent e;
    e.kind = LinkEvent::kUp;
    e.group = c.group, e.local = c.local, e.remote = c.remote;
    events.push_back(std::move(e));
  }

  int listener_;
  std::string address_;
  SecretFn secret_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::map<Key, Conn*> by_key_;
  std::vector<LinkEvent> pending_;  // dials that failed before a socket existed
  uint64_t refused_ = 0;
};

}  // namespace

Result<std::unique_ptr<DirectLinks>> listen_direct(const std::string& host,
                                                   DirectLinks::SecretFn secret) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if (int rc = getaddrinfo(host.c_str(), "0", &hints, &res); rc != 0)
    return Status(Code::kUsage, fmt::format("--link {}: {}", host, gai_strerror(rc)));
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) < 0 || ::listen(fd, 64) < 0) {
    const int err = errno;
    freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    return Status(Code::kIo, fmt::format("direct links: listen on {}: {}", host, strerror(err)));
  }
  freeaddrinfo(res);
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  std::string address = numeric_address(reinterpret_cast<sockaddr*>(&sa), len);
  return std::unique_ptr<DirectLinks>(new TcpLinks(fd, std::move(address), std::move(secret)));
}

}  // namespace w::worker
