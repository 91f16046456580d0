#include "w/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <thread>

using namespace w::net;

namespace {

// Echoes the size of each WebSocket message; "auth" authenticates the
// connection (as wpool's hello does) and is answered "ok".
class SizeHandler : public Handler {
 public:
  Server* server = nullptr;
  HttpResponse on_http(const HttpRequest&) override { return HttpResponse::text(200, "hi"); }
  bool on_ws_open(ConnId, const HttpRequest&, int&) override { return true; }
  void on_ws_message(ConnId id, std::string_view d, bool) override {
    if (d == "auth") {
      server->authenticate(id);
      server->send(id, "ok", false);
      return;
    }
    server->send(id, std::to_string(d.size()), false);
  }
};

struct Running {
  SizeHandler handler;
  std::unique_ptr<Server> server;
  std::thread thread;
  explicit Running(const ServerConfig& c) {
    auto s = Server::create(c, handler);
    REQUIRE(s.ok());
    server = std::move(*s);
    handler.server = server.get();
    thread = std::thread([this] { (void)server->run(); });
  }
  ~Running() { stop(); }
  void stop() {
    if (!thread.joinable()) return;
    server->stop();
    thread.join();
  }
};

// A raw WebSocket client: the upgrade, masked frames, what comes back.
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{3, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Raw() { close(fd_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  // The HTTP status line of the answer to the upgrade request.
  std::string upgrade() {
    write_all(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    std::string got;
    while (got.find("\r\n\r\n") == std::string::npos) {
      char c;
      if (read(fd_, &c, 1) != 1) break;
      got += c;
    }
    return got.substr(0, got.find("\r\n"));
  }

  // A masked text frame of any size below 64 KiB, or above with 64 bits.
  void send(const std::string& payload) {
    std::string f = "\x81";
    const size_t n = payload.size();
    if (n < 126) {
      f += static_cast<char>(0x80 | n);
    } else if (n < 65536) {
      f += static_cast<char>(0x80 | 126);
      f += static_cast<char>(n >> 8);
      f += static_cast<char>(n & 255);
    } else {
      f += static_cast<char>(0x80 | 127);
      for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 255);
    }
    f.append(4, '\0');  // a zero mask leaves the payload as it is
    f += payload;
    write_all(f);
  }

  // The next frame: {opcode, payload}; opcode -1 when the socket closed.
  std::pair<int, std::string> next() {
    unsigned char h[2];
    if (!read_n(h, 2)) return {-1, ""};
    size_t n = h[1] & 0x7f;
    if (n == 126) {
      unsigned char e[2];
      if (!read_n(e, 2)) return {-1, ""};
      n = (size_t{e[0]} << 8) | e[1];
    }
    std::string body(n, '\0');
    if (n > 0 && !read_n(reinterpret_cast<unsigned char*>(body.data()), n)) return {-1, ""};
    return {h[0] & 0x0f, body};
  }

  // The close code of the next frame if it is a close frame, else 0; -1 if
  // the socket closed without one.
  int close_code() {
    auto [op, body] = next();
    if (op == -1) return -1;
    if (op != 8 || body.size() < 2) return 0;
    return (static_cast<unsigned char>(body[0]) << 8) | static_cast<unsigned char>(body[1]);
  }

 private:
  void write_all(const std::string& s) {
    size_t at = 0;
    while (at < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + at, s.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return;  // closed by the server: what it said is read next
      at += static_cast<size_t>(n);
    }
  }
  bool read_n(unsigned char* p, size_t n) {
    while (n > 0) {
      const ssize_t got = read(fd_, p, n);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  int fd_ = -1;
};

}  // namespace

TEST_CASE(
    "before authentication a message may be max_unauthenticated_message, after it max_message") {
  // 1 KiB before, 1 MiB after: 2,000 bytes close an unauthenticated
  // connection (1009) and pass on an authenticated one.
  ServerConfig c;
  c.max_unauthenticated_message = 1024;
  c.max_message = 1 << 20;
  Running r(c);
  Raw anon(r.server->port());
  REQUIRE(anon.upgrade().find("101") != std::string::npos);
  anon.send(std::string(1000, 'x'));
  CHECK(anon.next().second == "1000");
  anon.send(std::string(2000, 'x'));
  CHECK(anon.close_code() == 1009);

  Raw known(r.server->port());
  REQUIRE(known.upgrade().find("101") != std::string::npos);
  known.send("auth");
  CHECK(known.next().second == "ok");
  known.send(std::string(200000, 'x'));
  CHECK(known.next().second == "200000");
}

TEST_CASE("past max_unauthenticated a newcomer closes the oldest unauthenticated connection") {
  // Two places for unauthenticated connections: the third closes the first
  // at once (no close frame); an authenticated one is never chosen.
  ServerConfig c;
  c.max_unauthenticated = 2;
  c.max_connections = 10;
  Running r(c);
  Raw known(r.server->port());
  REQUIRE(known.upgrade().find("101") != std::string::npos);
  known.send("auth");
  REQUIRE(known.next().second == "ok");
  Raw first(r.server->port());
  REQUIRE(first.upgrade().find("101") != std::string::npos);
  Raw second(r.server->port());
  REQUIRE(second.upgrade().find("101") != std::string::npos);
  Raw third(r.server->port());
  REQUIRE(third.upgrade().find("101") != std::string::npos);
  CHECK(first.close_code() == -1);
  second.send("still here");
  CHECK(second.next().second == "10");
  known.send("and me");
  CHECK(known.next().second == "6");
  r.stop();
  CHECK(r.server->stats().evicted == 1);
}

TEST_CASE("when every place is authenticated a newcomer gets 503") {
  // Two places, both authenticated: a third connection is answered 503,
  // over WebSocket and over HTTP.
  ServerConfig c;
  c.max_connections = 2;
  Running r(c);
  // One at a time: a connection is unauthenticated until its "auth", and
  // only one place (half of two) is for those.
  auto known = [&] {
    auto x = std::make_unique<Raw>(r.server->port());
    REQUIRE(x->upgrade().find("101") != std::string::npos);
    x->send("auth");
    REQUIRE(x->next().second == "ok");
    return x;
  };
  auto a = known(), b = known();
  Raw late(r.server->port());
  CHECK(late.upgrade().find("503") != std::string::npos);
  r.stop();
  CHECK(r.server->stats().refused == 1);
}

TEST_CASE(
    "an unauthenticated WebSocket is closed at auth_timeout_s, an idle one at idle_timeout_s") {
  // 0.3 s to authenticate, 1 s of silence allowed after: the first gets
  // 1008, the authenticated one 1001, later.
  ServerConfig c;
  c.auth_timeout_s = 0.3;
  c.idle_timeout_s = 1;
  Running r(c);
  const auto t0 = std::chrono::steady_clock::now();
  Raw anon(r.server->port());
  REQUIRE(anon.upgrade().find("101") != std::string::npos);
  Raw known(r.server->port());
  REQUIRE(known.upgrade().find("101") != std::string::npos);
  known.send("auth");
  REQUIRE(known.next().second == "ok");
  CHECK(anon.close_code() == 1008);
  const double anon_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(known.close_code() == 1001);
  const double known_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(anon_s < 1);
  CHECK(known_s >= 1);
  CHECK(known_s < 2.9);
}
