#include "w/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <thread>

using namespace w::net;

namespace {

// Echoes WebSocket messages and answers GET /hello?name=x.
class EchoHandler : public Handler {
 public:
  Server* server = nullptr;
  HttpResponse on_http(const HttpRequest& r) override {
    if (r.path == "/hello") return HttpResponse::text(200, "hello " + r.arg("name"));
    if (r.method == "POST")
      return HttpResponse::json(200, "{\"got\":" + std::to_string(r.body.size()) + "}");
    return HttpResponse::text(404, "not found");
  }
  bool on_ws_open(ConnId, const HttpRequest& r, int& refusal) override {
    refusal = 400;
    return r.path == "/ws";
  }
  void on_ws_message(ConnId id, std::string_view data, bool binary) override {
    server->send(id, std::string(data), binary);
  }
};

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string read_until(int fd, std::string_view marker) {
  std::string got;
  char buf[4096];
  while (got.find(marker) == std::string::npos) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void write_str(int fd, const std::string& s) {
  REQUIRE(write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
}

// A masked client text frame (RFC 6455 §5.2), payload < 126 bytes.
std::string client_frame(const std::string& payload) {
  std::string f = "\x81";
  f += static_cast<char>(0x80 | payload.size());
  const char mask[4] = {1, 2, 3, 4};
  f.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

struct Running {
  EchoHandler handler;
  std::unique_ptr<Server> server;
  std::thread thread;
  Running() {
    ServerConfig c;
    auto s = Server::create(c, handler);
    REQUIRE(s.ok());
    server = std::move(*s);
    handler.server = server.get();
    thread = std::thread([this] { (void)server->run(); });
  }
  ~Running() {
    server->stop();
    thread.join();
  }
};

}  // namespace

TEST_CASE("GET with a query and POST with a body are answered") {
  // A real server on a free port answers raw HTTP/1.1 requests.
  Running r;
  REQUIRE(r.server->port() > 0);
  int fd = connect_to(r.server->port());
  write_str(fd, "GET /hello?name=w%20kit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string got = read_until(fd, "hello w kit");
  CHECK(got.find("200 OK") != std::string::npos);
  CHECK(got.find("hello w kit") != std::string::npos);
  CHECK(got.find("server: wkit\r\n") != std::string::npos);  // lws keeps the name's pointer
  close(fd);

  fd = connect_to(r.server->port());
  write_str(fd,
            "POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde");
  got = read_until(fd, "{\"got\":5}");
  INFO(got);
  CHECK(got.find("{\"got\":5}") != std::string::npos);
  close(fd);
}

TEST_CASE("a WebSocket without a subprotocol is accepted and echoed") {
  // PeerJS-style clients send no Sec-WebSocket-Protocol; messages round-trip.
  Running r;
  int fd = connect_to(r.server->port());
  write_str(fd,
            "GET /ws?id=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string got = read_until(fd, "\r\n\r\n");
  REQUIRE(got.find("101") != std::string::npos);
  write_str(fd, client_frame("ping"));
  got = read_until(fd, "ping");
  CHECK(got.substr(got.size() - 6) == std::string("\x81\x04ping"));
  close(fd);
}

TEST_CASE("a WebSocket on a refused path gets the handler's status") {
  // on_ws_open returning false with refusal 400 answers HTTP 400.
  Running r;
  int fd = connect_to(r.server->port());
  write_str(fd,
            "GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string got = read_until(fd, "\r\n\r\n");
  CHECK(got.find("101") == std::string::npos);
  close(fd);
}

TEST_CASE("listen addresses parse and a taken port says so") {
  // "7070", ":7070" and "0.0.0.0:7070"; a busy port is "Address already in use".
  CHECK(parse_listen("7070")->second == 7070);
  CHECK(parse_listen(":7070")->first == "127.0.0.1");
  CHECK(parse_listen("0.0.0.0:80")->first == "0.0.0.0");
  CHECK_FALSE(parse_listen("host:99999").ok());
  // IPv6 in brackets, * for every interface, names kept for the server.
  CHECK(*parse_listen("[::1]:7070") == std::make_pair(std::string("::1"), 7070));
  CHECK(parse_listen("*:7070")->first == "0.0.0.0");
  CHECK(parse_listen("localhost:7070")->first == "localhost");
  CHECK(parse_listen("::1:7070").status().message().find("in brackets") != std::string::npos);
  CHECK_FALSE(parse_listen("[::1]7070").ok());
  CHECK_FALSE(parse_listen("[127.0.0.1]:7070").ok());
  CHECK_FALSE(parse_listen("[]:7070").ok());
  CHECK(host_port("::1", 80) == "[::1]:80");
  CHECK(host_port("127.0.0.1", 80) == "127.0.0.1:80");
  Running r;
  EchoHandler other;
  ServerConfig c;
  c.port = r.server->port();
  auto s = Server::create(c, other);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("Address already in use") != std::string::npos);
}
