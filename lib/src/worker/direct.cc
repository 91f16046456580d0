#include "direct.h"
#include "direct_conn.h"
#include "link_tls.h"
#include "link_wire.h"

#include <netdb.h>
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

using link::handshake_mac, link::kMac, link::kNonce, link::same_mac, link::set_socket_options,
    link::numeric_address, link::split_address;
constexpr size_t kMaxBody = W_MESSAGE_MAX + 5;  // a w_send message and its header
constexpr size_t kInPlace = size_t{64} << 10;   // larger bodies are read in place
constexpr size_t kReadChunk = size_t{256} << 10;
constexpr size_t kReadPerPump = size_t{8} << 20;  // per connection: the others get their turn
constexpr auto kHandshakeTimeout = std::chrono::seconds(5);
constexpr size_t kMaxHandshaking = 32;
constexpr auto kClosingTime = std::chrono::seconds(2);  // a finished member's links read this long

class TcpLinks final : public DirectLinks {
 public:
  TcpLinks(int listener, std::string address, SecretFn secret, bool tls)
      : listener_(listener), address_(std::move(address)), secret_(std::move(secret)), tls_(tls) {}
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
    link::Hello hello;
    hello.mode = tls_ ? 'T' : '1';
    hello.group = group;
    hello.dialer = static_cast<uint32_t>(local), hello.acceptor = static_cast<uint32_t>(remote);
    std::memcpy(hello.nonce, c->nonce_d, kNonce);
    queue_raw(*c, link::encode_hello(hello));
    by_key_[{group, local, remote}] = c.get();
    conns_.push_back(std::move(c));
  }

  bool up(const std::string& group, int local, int remote) const override {
    auto it = by_key_.find({group, local, remote});
    return it != by_key_.end() && it->second->state == Conn::kUp && !it->second->dead;
  }

  bool send(const std::string& group, int local, int remote, std::string body) override {
    auto it = by_key_.find({group, local, remote});
    if (it == by_key_.end() || it->second->state != Conn::kUp || it->second->dead ||
        it->second->member_writes)
      return false;
    Conn& c = *it->second;
    Out o;
    const auto n = static_cast<uint32_t>(body.size());
    for (int i = 0; i < 4; ++i) o.head[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    o.counted = body.size();
    if (c.tls) {
      Status s = c.tls->write(o.head, 4);
      if (s.ok()) s = c.tls->write(body.data(), body.size());
      if (!s.ok()) {
        kill(c, s.message());  // reported by the next pump
        return true;
      }
      o.body = c.tls->take_output();
    } else {
      o.head_size = 4;
      o.body = std::move(body);
    }
    c.out_bytes += o.counted;
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
      if (c.closing) {
        drain_closing(c, now);
        continue;
      }
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
      if (c.discard) {
        drain(c);
      } else if (!c.member_reads) {
        read_some(c, events);
        if (!c.dead) write_some(c);  // a handshake answer read just now
      }
    }
    reap(events);
  }

  void pollfds(std::vector<struct pollfd>& out) const override {
    out.push_back({listener_, POLLIN, 0});
    for (const auto& c : conns_) {
      if (c->dead) continue;
      auto ev = static_cast<short>(c->state == Conn::kConnecting ? POLLOUT
                                   : c->member_reads             ? 0
                                                                 : POLLIN);
      if (!c->out.empty()) ev = static_cast<short>(ev | POLLOUT);
      if (ev) out.push_back({c->fd, ev, 0});
    }
  }

  int wait_ms() const override {
    int best = -1;
    const auto now = Clock::now();
    for (const auto& c : conns_) {
      if (c->dead) return 0;  // killed by a send: reported by the next pump
      if (c->state == Conn::kUp && !c->closing) continue;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(c->deadline - now).count() + 1;
      const int ms = static_cast<int>(std::max<long long>(0, left));
      if (best < 0 || ms < best) best = ms;
    }
    return best;
  }

  void close_member(const std::string& group, int local, bool graceful) override {
    for (auto& c : conns_) {
      if (c->group != group || c->local != local || c->dead || c->closing) continue;
      if (!graceful || c->state != Conn::kUp) {
        kill(*c, "closed");
        continue;
      }
      ::shutdown(c->fd, SHUT_WR);
      c->closing = true;
      c->deadline = Clock::now() + kClosingTime;
      auto k = by_key_.find({c->group, c->local, c->remote});
      if (k != by_key_.end() && k->second == c.get()) by_key_.erase(k);
    }
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

  int hand_writer(const std::string& group, int local, int remote) override {
    Conn* c = find(group, local, remote);
    if (!handable(c) || c->member_writes || !c->out.empty()) return -1;
    c->member_writes = true;
    return c->fd;
  }
  int hand_reader(const std::string& group, int local, int remote) override {
    Conn* c = find(group, local, remote);
    if (!handable(c) || c->member_reads || !c->got_data || c->in_len > 0 || c->reading_big)
      return -1;
    c->member_reads = true;
    return c->fd;
  }
  void take_back(const std::string& group, int local) override {
    for (auto& c : conns_) {
      if (c->group != group || c->local != local) continue;
      c->discard = c->discard || c->member_reads;  // it may have stopped mid-body
      c->member_writes = c->member_reads = false;
    }
  }
  void shut_handed(const std::string& group) override {
    for (auto& c : conns_)
      if (c->group == group && !c->dead && (c->member_writes || c->member_reads))
        ::shutdown(c->fd, SHUT_RDWR);
  }

 private:
  using Key = std::tuple<std::string, int, int>;

  Conn* find(const std::string& group, int local, int remote) {
    auto it = by_key_.find({group, local, remote});
    return it == by_key_.end() ? nullptr : it->second;
  }
  // A member may take it: up, plain (a kernel cannot run our TLS), open.
  static bool handable(const Conn* c) {
    return c && c->state == Conn::kUp && !c->dead && !c->closing && !c->tls;
  }

  void failed_dial(const std::string& group, int local, int remote, std::string why) {
    ++refused_;
    LinkEvent e;
    e.kind = LinkEvent::kDown;
    e.group = group, e.local = local, e.remote = remote, e.reason = std::move(why);
    pending_.push_back(std::move(e));
  }

  void queue_raw(Conn& c, std::string bytes) {
    if (bytes.empty()) return;
    Out o;
    o.body = std::move(bytes);
    c.out.push_back(std::move(o));
  }

  // Reads and drops what the peer sends; false once it closed.
  bool drain(Conn& c) {
    char sink[16384];
    ssize_t got = 0;
    while ((got = ::read(c.fd, sink, sizeof sink)) > 0) continue;
    if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
      kill(c, "closed");
      return false;
    }
    return true;
  }
  // A finished member's link: what the peer still sends, until its close or the deadline.
  void drain_closing(Conn& c, Clock::time_point now) {
    if (drain(c) && now > c.deadline) kill(c, "closed");
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
      const bool keyed = (c.dialer || c.state == Conn::kUp) && !c.closing;
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

  void read_some(Conn& c, std::vector<LinkEvent>& events) {
    size_t budget = kReadPerPump;
    while (!c.dead && budget > 0) {
      ssize_t got;
      if (c.tls) {  // ciphertext, through the TLS session into c.in
        if (cipher_.size() < kReadChunk) cipher_.resize(kReadChunk);
        got = ::read(c.fd, cipher_.data(), cipher_.size());
        if (got > 0) {
          budget -= std::min(budget, static_cast<size_t>(got));
          c.tls->feed(cipher_.data(), static_cast<size_t>(got));
          drain_tls(c, events);
          continue;
        }
      } else if (c.reading_big) {
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
      if (c.tls) drain_tls(c, events);  // the bytes after the proof were TLS
    }
  }

  // The TLS handshake's next step, then what it decrypts.
  void drain_tls(Conn& c, std::vector<LinkEvent>& events) {
    if (c.state == Conn::kTls) {
      auto done = c.tls->handshake();
      queue_raw(c, c.tls->take_output());
      if (!done.ok()) return kill(c, done.status().message());
      if (!*done) return;
      up_event(c, events);
    }
    if (c.state != Conn::kUp) return;
    Status s = c.tls->read(c.in, c.in_len);
    queue_raw(c, c.tls->take_output());
    take(c, events);
    if (!s.ok()) kill(c, s.message());
  }

  // Both ends proved the secret: the link is up, or (TLS) starts its session
  // keyed with what only they know.
  void established(Conn& c, size_t& at, std::vector<LinkEvent>& events) {
    if (c.mode != 'T') return up_event(c, events);
    const int dialer = c.dialer ? c.local : c.remote, acceptor = c.dialer ? c.remote : c.local;
    auto tls = LinkTls::start(
        c.dialer, handshake_mac(c.secret, "K", c.group, dialer, acceptor, c.nonce_d, c.nonce_a));
    if (!tls.ok()) return kill(c, tls.status().message());
    c.tls = std::move(*tls);
    c.state = Conn::kTls;
    c.tls->feed(c.in.data() + at, c.in_len - at);
    at = c.in_len;
  }

  void data_event(Conn& c, std::string body, std::vector<LinkEvent>& events) {
    c.got_data = true;
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
    while (more && c.state == Conn::kUp) {
      size_t len = 0;
      std::string why;
      const auto got = link::decode_frame_header(pending(c, at), kMaxBody, len, why);
      if (got == link::Parse::kMore) break;
      if (got == link::Parse::kBad) return kill(c, why);
      if (c.in_len - at - 4 >= len) {
        data_event(c, c.in.substr(at + 4, len), events);
        at += 4 + len;
        continue;
      }
      if (len >= kInPlace && !c.tls) {  // the rest goes straight into its own buffer
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

  // The bytes of c.in not taken yet.
  static std::string_view pending(const Conn& c, size_t at) {
    return {c.in.data() + at, c.in_len - at};
  }

  bool acceptor_hello(Conn& c, size_t& at) {
    link::Hello hello;
    std::string why;
    const auto got = link::decode_hello(pending(c, at), hello, at, why);
    if (got == link::Parse::kMore) return false;
    if (got == link::Parse::kBad) return refuse(c, why);
    c.mode = tls_ || hello.mode == 'T' ? 'T' : '1';  // TLS if either end runs it
    const auto dialer = static_cast<int>(hello.dialer);
    const auto acceptor = static_cast<int>(hello.acceptor);
    std::memcpy(c.nonce_d, hello.nonce, kNonce);
    c.group = std::move(hello.group);
    std::string secret = secret_(c.group, acceptor);
    if (secret.empty() || dialer < 0 || dialer == acceptor)
      return refuse(c, fmt::format("no member {} of {} here", acceptor, c.group));
    if (find(c.group, acceptor, dialer)) return refuse(c, "already linked");
    c.local = acceptor, c.remote = dialer, c.secret = std::move(secret);
    RAND_bytes(c.nonce_a, kNonce);
    std::string answer(1, c.mode);
    answer.append(reinterpret_cast<const char*>(c.nonce_a), kNonce);
    answer += handshake_mac(c.secret, std::string("A") + c.mode, c.group, dialer, acceptor,
                            c.nonce_d, c.nonce_a);
    queue_raw(c, std::move(answer));
    c.state = Conn::kAcceptorMac;
    return true;
  }

  bool dialer_answer(Conn& c, size_t& at, std::vector<LinkEvent>& events) {
    link::Answer answer;
    size_t used = 0;
    std::string why;
    const auto got = link::decode_answer(pending(c, at), answer, used, why);
    if (got == link::Parse::kMore) return false;
    if (got == link::Parse::kBad) return refuse(c, why);
    c.mode = answer.mode;
    if (c.mode == '1' && tls_) return refuse(c, "the other end would not run TLS");
    std::memcpy(c.nonce_a, answer.nonce, kNonce);
    const std::string role = std::string("A") + c.mode;
    const std::string want =
        handshake_mac(c.secret, role, c.group, c.local, c.remote, c.nonce_d, c.nonce_a);
    if (!same_mac(want, answer.mac))
      return refuse(c, "the other end does not know the run's secret");
    at += used;
    queue_raw(c, handshake_mac(c.secret, std::string("D") + c.mode, c.group, c.local, c.remote,
                               c.nonce_d, c.nonce_a));
    established(c, at, events);
    return c.state == Conn::kUp;
  }

  bool acceptor_mac(Conn& c, size_t& at, std::vector<LinkEvent>& events) {
    if (c.in_len - at < kMac) return false;
    const std::string want = handshake_mac(c.secret, std::string("D") + c.mode, c.group, c.remote,
                                           c.local, c.nonce_d, c.nonce_a);
    if (!same_mac(want, c.in.data() + at))
      return refuse(c, "the other end does not know the run's secret");
    at += kMac;
    if (find(c.group, c.local, c.remote)) return refuse(c, "already linked");
    by_key_[{c.group, c.local, c.remote}] = &c;
    established(c, at, events);
    return c.state == Conn::kUp;
  }

  void up_event(Conn& c, std::vector<LinkEvent>& events) {
    c.state = Conn::kUp;
    c.secret.clear();
    LinkEvent e;
    e.kind = LinkEvent::kUp;
    e.group = c.group, e.local = c.local, e.remote = c.remote;
    e.tls = c.tls != nullptr;
    events.push_back(std::move(e));
  }

  int listener_;
  std::string address_;
  SecretFn secret_;
  bool tls_;
  std::string cipher_;  // TLS bytes read, before they are decrypted
  std::vector<std::unique_ptr<Conn>> conns_;
  std::map<Key, Conn*> by_key_;
  std::vector<LinkEvent> pending_;  // dials that failed before a socket existed
  uint64_t refused_ = 0;
};

}  // namespace

Result<std::unique_ptr<DirectLinks>> listen_direct(const std::string& host,
                                                   DirectLinks::SecretFn secret, bool tls) {
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
  return std::unique_ptr<DirectLinks>(new TcpLinks(fd, std::move(address), std::move(secret), tls));
}

}  // namespace w::worker
