#include "w/net_client.h"

#include <catch2/catch.hpp>

#include <thread>

#include "w/net.h"

using namespace w::net;

namespace {

// Echoes every message back, and says "hello" first on /greet.
class Echo : public Handler {
 public:
  Server* server = nullptr;
  HttpResponse on_http(const HttpRequest&) override { return HttpResponse::text(404, ""); }
  bool on_ws_open(ConnId id, const HttpRequest& r, int&) override {
    server->authenticate(id);  // messages past 64 KiB are the client's to test
    if (r.path == "/greet") server->send(id, "hello " + r.arg("name"), false);
    return true;
  }
  void on_ws_message(ConnId id, std::string_view d, bool binary) override {
    server->send(id, std::string(d), binary);
  }
};

struct Running {
  Echo handler;
  std::unique_ptr<Server> server;
  std::thread thread;
  Running() {
    auto s = Server::create(ServerConfig{}, handler);
    REQUIRE(s.ok());
    server = std::move(*s);
    handler.server = server.get();
    thread = std::thread([this] { (void)server->run(); });
  }
  ~Running() {
    server->stop();
    thread.join();
  }
  std::string url(const std::string& path) const {
    return "ws://127.0.0.1:" + std::to_string(server->port()) + path;
  }
};

}  // namespace

TEST_CASE("ws URLs parse into host, port and path with query") {
  // The path keeps its query; a bare authority gets "/".
  auto u = parse_ws_url("ws://example.org:7070/peerjs?id=a&key=b");
  REQUIRE(u.ok());
  CHECK(u->host == "example.org");
  CHECK(u->port == 7070);
  CHECK(u->path == "/peerjs?id=a&key=b");
  CHECK(parse_ws_url("ws://h")->path == "/");
  CHECK_FALSE(parse_ws_url("http://h").ok());
  CHECK_FALSE(parse_ws_url("ws://h:0").ok());
}

TEST_CASE("a client receives a greeting and its messages echoed, in order") {
  // 1000 binary and text messages round-trip through the real server.
  Running r;
  auto c = Client::connect(r.url("/greet?name=w"), {});
  REQUIRE(c.ok());
  Message m;
  REQUIRE(*(*c)->receive(m, 5000));
  CHECK(m.data == "hello w");
  for (int i = 0; i < 1000; ++i) REQUIRE((*c)->send(std::to_string(i), i % 2 == 0).ok());
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(*(*c)->receive(m, 5000));
    CHECK(m.data == std::to_string(i));
    CHECK(m.binary == (i % 2 == 0));
  }
  std::string big(3 << 20, 'x');
  REQUIRE((*c)->send(big, true).ok());
  REQUIRE(*(*c)->receive(m, 10000));
  CHECK(m.data.size() == big.size());
}

TEST_CASE("connecting to a closed port fails with a message") {
  // Nothing listens: connect() reports instead of hanging.
  Running r;
  const int port = r.server->port();
  r.server->stop();
  r.thread.join();
  r.server.reset();
  ClientOptions o;
  o.connect_timeout = 3;
  auto c = Client::connect("ws://127.0.0.1:" + std::to_string(port) + "/", o);
  CHECK_FALSE(c.ok());
  CHECK(c.status().message().find("connect ws://127.0.0.1:") == 0);
  // Restore something for ~Running to stop.
  auto s = Server::create(ServerConfig{}, r.handler);
  REQUIRE(s.ok());
  r.server = std::move(*s);
  r.thread = std::thread([&r] { (void)r.server->run(); });
}
