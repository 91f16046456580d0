// relay_floor: the least a PeerJS relay can do, as the floor under
// bench/wsig.sh's relay figures (issue 18): what the kernel's TCP path costs
// per message, against which wsig's CPU time per message is a ratio.
//
//   relay_floor [--host H] [--port P]     (P 0: any free port)
//
// Prints "relay_floor: listening on H:P" on stderr, then serves until
// SIGTERM or SIGINT (exit 0). For each peer:
//   1. the upgrade request GET ...?id=ID...: answered 101 with the real
//      Sec-WebSocket-Accept, followed at once by {"type":"OPEN"}, which is
//      all wsig_load and PeerJS clients wait for (a taken or missing id: 409
//      or 400, and the connection closes);
//   2. each text or binary frame: unmasked, the value of its "dst" found by
//      a plain search (no JSON parser), and the payload written as it came
//      to the peer of that id, in a server frame (no "src" added: nothing in
//      wsig_load reads it). Unknown dst: dropped. Ping: pong. Close: closed.
// Nothing else: no rate limits, no mailboxes, no heartbeats, no fragmented
// messages (a continuation frame closes the connection), one thread,
// level-triggered epoll so each readable event costs one recv.
//
// Per message that is one recv, one send and the peer's share of
// epoll_wait. A send the socket does not take whole keeps the rest in the
// receiver's `out` and waits for EPOLLOUT; frames split across reads wait in
// the sender's `in`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kRead = 65536;           // bytes per recv
constexpr uint64_t kMaxFrame = 16 << 20;  // a larger frame closes its connection
constexpr size_t kMaxOut = 64 << 20;      // a receiver this far behind is closed
constexpr size_t kMaxRequest = 8192;      // upgrade request header
volatile std::sig_atomic_t g_stop = 0;

// One per connected socket, indexed by its descriptor; reset on close.
struct Peer {
  bool used = false;
  bool upgraded = false;
  bool closing = false;  // closed at the end of the epoll batch
  std::string id;        // registered in Floor::by_id_ once upgraded
  std::vector<char> in;  // an incomplete request or frame
  size_t need = 0;       // that frame's whole size, once its header is in
  std::string out;       // what the socket did not take; EPOLLOUT while non-empty
};

struct Hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "relay_floor: error: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// The value of `name` in the query of request target `t`, or "".
std::string_view query_value(std::string_view t, std::string_view name) {
  size_t at = t.find('?');
  while (at != std::string_view::npos) {
    const std::string_view rest = t.substr(at + 1);
    if (rest.starts_with(name) && rest.size() > name.size() && rest[name.size()] == '=') {
      const std::string_view v = rest.substr(name.size() + 1);
      return v.substr(0, v.find('&'));
    }
    at = t.find('&', at + 1);
  }
  return {};
}

// The value of header `name` (lower case) in request head `h`, or "".
std::string_view header_value(std::string_view h, std::string_view name) {
  for (size_t at = h.find("\r\n"); at != std::string_view::npos; at = h.find("\r\n", at + 2)) {
    const std::string_view line = h.substr(at + 2, h.find("\r\n", at + 2) - at - 2);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return v;
    }
  }
  return {};
}

// RFC 6455 4.2.2: base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view key) {
  std::string s(key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char sha[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), sha);
  unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  EVP_EncodeBlock(b64, sha, SHA_DIGEST_LENGTH);
  return reinterpret_cast<char*>(b64);
}

// The string value of "dst" in JSON text `m`, found without parsing: ids
// have no escapes, and a false match only misroutes a benchmark's message.
std::string_view find_dst(std::string_view m) {
  size_t at = m.find("\"dst\"");
  if (at == std::string_view::npos) return {};
  at += 5;
  while (at < m.size() && (m[at] == ' ' || m[at] == ':')) ++at;
  if (at >= m.size() || m[at] != '"') return {};
  const size_t end = m.find('"', at + 1);
  if (end == std::string_view::npos) return {};
  return m.substr(at + 1, end - at - 1);
}

void unmask(unsigned char* p, uint64_t n, const unsigned char key[4]) {
  const unsigned char k[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  uint64_t k8;
  std::memcpy(&k8, k, 8);
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= k8;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] ^= key[i % 4];
}

class Floor {
 public:
  explicit Floor(int listener) : listener_(listener), scratch_(2 * kRead) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1");
    watch(listener_, EPOLLIN, EPOLL_CTL_ADD);
  }

  void run() {
    epoll_event evs[256];
    while (!g_stop) {
      const int n = epoll_wait(ep_, evs, 256, -1);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int e = 0; e < n; ++e) {
        const int fd = evs[e].data.fd;
        if (fd == listener_) {
          accept_all();
          continue;
        }
        if (peers_[fd].closing) continue;
        if (evs[e].events & EPOLLOUT) on_writable(fd);
        if (evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(fd);
      }
      // Closed only now, so no descriptor is reused while the batch still
      // holds events for it.
      for (int fd : doomed_) {
        Peer& p = peers_[fd];
        auto it = by_id_.find(p.id);
        if (p.upgraded && it != by_id_.end() && it->second == fd) by_id_.erase(it);
        ::close(fd);
        p = Peer{};
      }
      doomed_.clear();
    }
  }

 private:
  void watch(int fd, uint32_t events, int op = EPOLL_CTL_MOD) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(ep_, op, fd, &ev) < 0) die("epoll_ctl");
  }

  void accept_all() {
    for (;;) {
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR) return;
        die("accept4");
      }
      const int one = 1;  // frames go out whole; Nagle would only delay them
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<size_t>(fd) >= peers_.size()) peers_.resize(static_cast<size_t>(fd) + 1024);
      peers_[fd].used = true;
      watch(fd, EPOLLIN, EPOLL_CTL_ADD);
    }
  }

  void doom(int fd) {
    if (peers_[fd].closing) return;
    peers_[fd].closing = true;
    doomed_.push_back(fd);
  }

  // One recv. Into the shared scratch buffer, after the few pending bytes
  // (usually none), so the common case copies nothing; only a frame larger
  // than one read grows in the peer's own `in`, read straight into it.
  void on_readable(int fd) {
    Peer& p = peers_[fd];
    const size_t held = p.in.size();
    if (held < kRead) {
      char* base = scratch_.data();
      std::memcpy(base, p.in.data(), held);
      const ssize_t n = recv(fd, base + held, kRead, 0);
      if (!read_ok(fd, n)) return;
      const size_t len = held + static_cast<size_t>(n);
      const size_t at = take(fd, reinterpret_cast<unsigned char*>(base), len);
      if (!p.closing) p.in.assign(base + at, base + len);
    } else {
      const size_t room = std::max(kRead, p.need > held ? p.need - held : 0);
      p.in.resize(held + room);
      const ssize_t n = recv(fd, p.in.data() + held, room, 0);
      p.in.resize(held + static_cast<size_t>(std::max<ssize_t>(n, 0)));
      if (!read_ok(fd, n)) return;
      const size_t at = take(fd, reinterpret_cast<unsigned char*>(p.in.data()), p.in.size());
      if (!p.closing) p.in.erase(p.in.begin(), p.in.begin() + static_cast<ptrdiff_t>(at));
    }
  }

  bool read_ok(int fd, ssize_t n) {
    if (n > 0) return true;
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) doom(fd);
    return false;
  }

  // Handles the request and the whole frames at the front of b[0, len);
  // returns how many bytes it used.
  size_t take(int fd, unsigned char* b, size_t len) {
    Peer& p = peers_[fd];
    size_t at = 0;
    if (!p.upgraded) {
      at = upgrade(fd, std::string_view(reinterpret_cast<char*>(b), len));
      if (!p.upgraded) return at;
    }
    while (!p.closing && len - at >= 2) {
      unsigned char* f = b + at;
      uint64_t n = f[1] & 0x7f;
      size_t head = 2;
      if (n == 126) {
        if (len - at < 4) break;
        n = (uint64_t{f[2]} << 8) | f[3];
        head = 4;
      } else if (n == 127) {
        if (len - at < 10) break;
        n = 0;
        for (int i = 0; i < 8; ++i) n = (n << 8) | f[2 + i];
        head = 10;
      }
      // Clients must mask (RFC 6455 5.1); no extension sets RSV bits.
      if (!(f[1] & 0x80) || (f[0] & 0x70) || n > kMaxFrame) {
        doom(fd);
        break;
      }
      p.need = head + 4 + n;
      if (len - at < p.need) break;
      unsigned char* payload = f + head + 4;
      unmask(payload, n, f + head);
      frame(fd, f[0], payload, n, head);
      at += p.need;
      p.need = 0;
    }
    return at;
  }

  // One whole unmasked frame whose header took `head` bytes before the mask
  // key: relays it by writing a server header over the end of the client's.
  void frame(int fd, unsigned char first, unsigned char* payload, uint64_t n, size_t head) {
    const unsigned op = first & 0x0f;
    const bool fin = first & 0x80;
    unsigned char* out = payload - head;
    out[0] = static_cast<unsigned char>(0x80 | op);
    if (head == 2) {
      out[1] = static_cast<unsigned char>(n);
    } else if (head == 4) {
      out[1] = 126, out[2] = static_cast<unsigned char>(n >> 8), out[3] = n & 0xff;
    } else {
      out[1] = 127;
      for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<unsigned char>(n >> (56 - 8 * i));
    }
    const std::string_view whole(reinterpret_cast<char*>(out), head + n);
    if ((op == 1 || op == 2) && fin) {
      const auto it = by_id_.find(find_dst({reinterpret_cast<char*>(payload), n}));
      if (it != by_id_.end()) send_to(it->second, whole);
    } else if (op == 9 && fin && n <= 125) {
      out[0] = 0x8a;  // pong, same payload
      send_to(fd, whole);
    } else if (op == 8) {
      send_to(fd, std::string_view("\x88\x00", 2));
      doom(fd);
    } else if (op != 10) {
      doom(fd);  // continuation (fragmented message) or a reserved opcode
    }
  }

  void send_to(int fd, std::string_view data) {
    Peer& d = peers_[fd];
    if (d.closing) return;
    if (!d.out.empty()) {
      d.out += data;
      if (d.out.size() > kMaxOut) doom(fd);
      return;
    }
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) {
        doom(fd);
        return;
      }
      n = 0;
    }
    if (static_cast<size_t>(n) < data.size()) {
      d.out.assign(data.substr(static_cast<size_t>(n)));
      watch(fd, EPOLLIN | EPOLLOUT);
    }
  }

  void on_writable(int fd) {
    Peer& d = peers_[fd];
    const ssize_t n = send(fd, d.out.data(), d.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) doom(fd);
      return;
    }
    d.out.erase(0, static_cast<size_t>(n));
    if (d.out.empty()) watch(fd, EPOLLIN);
  }

  // The upgrade request at the front of `b`: 0 while it is incomplete, else
  // its length, with the peer upgraded and registered or being closed.
  size_t upgrade(int fd, std::string_view b) {
    Peer& p = peers_[fd];
    const size_t end = b.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (b.size() > kMaxRequest) doom(fd);
      return 0;
    }
    const std::string_view h = b.substr(0, end + 2);
    const std::string_view target = h.substr(0, h.find("\r\n"));
    const std::string_view id = query_value(target.substr(0, target.rfind(' ')), "id");
    const std::string_view key = header_value(h, "sec-websocket-key");
    const char* refusal = nullptr;
    if (!target.starts_with("GET ") || id.empty() || key.empty())
      refusal = "400 Bad Request";
    else if (by_id_.contains(id))
      refusal = "409 Conflict";
    if (refusal) {
      send_to(fd, std::string("HTTP/1.1 ") + refusal +
                      "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      doom(fd);
      return end + 4;
    }
    send_to(fd,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                accept_key(key) + "\r\n\r\n\x81\x0f{\"type\":\"OPEN\"}");
    p.upgraded = true;
    p.id = id;
    by_id_.emplace(p.id, fd);
    return end + 4;
  }

  int ep_ = -1;
  const int listener_;
  std::vector<Peer> peers_;
  std::unordered_map<std::string, int, Hash, std::equal_to<>> by_id_;
  std::vector<char> scratch_;
  std::vector<int> doomed_;
};

int listen_on(const char* host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    std::fprintf(stderr, "relay_floor: error: --host '%s': not an IPv4 address\n", host);
    std::exit(2);
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0) die("socket");
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) die("bind");
  if (listen(fd, 4096) < 0) die("listen");
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::fprintf(stderr, "relay_floor: listening on %s:%d\n", host, ntohs(a.sin_port));
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 9000;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view k = argv[i];
    if (i + 1 >= argc || (k != "--host" && k != "--port")) {
      std::fprintf(stderr, "usage: relay_floor [--host H] [--port P]\n");
      return 2;
    }
    if (k == "--host") {
      host = argv[i + 1];
    } else {
      char* end;
      const long v = std::strtol(argv[i + 1], &end, 10);
      if (*end || v < 0 || v > 65535) {
        std::fprintf(stderr, "relay_floor: error: --port '%s': not 0-65535\n", argv[i + 1]);
        return 2;
      }
      port = static_cast<int>(v);
    }
  }
  // No SA_RESTART: epoll_wait returns EINTR and the loop sees g_stop.
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  Floor(listen_on(host, port)).run();
  return 0;
}
