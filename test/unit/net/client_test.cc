#include "w/net_client.h"

#include <catch2/catch.hpp>

#include <poll.h>

#include <chrono>
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
  CHECK_FALSE(u->tls);
  CHECK(parse_ws_url("ws://h")->path == "/");
  CHECK(parse_ws_url("ws://h")->port == 80);
  CHECK_FALSE(parse_ws_url("ws://h:0").ok());
  CHECK_FALSE(parse_ws_url("ws://h:").ok());
  CHECK_FALSE(parse_ws_url("ws://h:70000").ok());
  CHECK_FALSE(parse_ws_url("ftp://h").ok());
  CHECK_FALSE(parse_ws_url("ws://").ok());
  CHECK_FALSE(parse_ws_url("ws://user:pw@h/").ok());
  CHECK(parse_ws_url("ftp://h").status().code() == w::Code::kInvalid);
}

TEST_CASE("wss and https URLs ask for TLS, on port 443 unless named") {
  // http(s):// is what a browser shows: taken as the same server's ws(s)://.
  auto s = parse_ws_url("wss://pool.example.org/sub/path");
  REQUIRE(s.ok());
  CHECK(s->tls);
  CHECK(s->port == 443);
  CHECK(s->path == "/sub/path");
  CHECK(s->origin() == "wss://pool.example.org:443");
  auto h = parse_ws_url("https://pool.example.org:8443");
  REQUIRE(h.ok());
  CHECK(h->tls);
  CHECK(h->port == 8443);
  auto p = parse_ws_url("http://h:7070/x");
  REQUIRE(p.ok());
  CHECK_FALSE(p->tls);
  auto v6 = parse_ws_url("wss://[::1]:9443/a");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 9443);
  CHECK(v6->origin() == "wss://[::1]:9443");
  CHECK_FALSE(parse_ws_url("wss://[::1").ok());
}

TEST_CASE("a handshake's HTTP status tells a permanent failure from a transient one") {
  // 4xx and redirects are the URL's fault (retrying cannot help), 401/403
  // a refusal, 5xx, 408 and 429 the server's moment (retry later).
  CHECK(http_refusal(404, "u").code() == w::Code::kUnavailable);
  CHECK(http_refusal(400, "u").code() == w::Code::kUnavailable);
  CHECK(http_refusal(426, "u").message().find("use wss://") != std::string::npos);
  CHECK(http_refusal(301, "u").code() == w::Code::kUnavailable);
  CHECK(http_refusal(200, "u").message().find("not a WebSocket server") != std::string::npos);
  CHECK(http_refusal(403, "u").code() == w::Code::kDenied);
  CHECK(http_refusal(401, "u").code() == w::Code::kDenied);
  for (unsigned status : {500u, 502u, 503u, 504u, 408u, 429u}) {
    CAPTURE(status);
    CHECK(is_transient(http_refusal(status, "u")));
  }
  for (unsigned status : {400u, 401u, 403u, 404u, 410u, 301u, 200u}) {
    CAPTURE(status);
    CHECK_FALSE(is_transient(http_refusal(status, "u")));
  }
}

TEST_CASE("a host that does not resolve fails at once as unknown") {
  // The resolver says no such name: kNoHost, never retried.
  auto c = Client::connect("ws://no-such-host.invalid:7070/worker", {});
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == w::Code::kNoHost);
  CHECK(c.status().message().find("no-such-host.invalid") != std::string::npos);
  CHECK_FALSE(is_transient(c.status()));
}

TEST_CASE("a refused path is a permanent failure naming its HTTP status") {
  // The server answers 404 to the upgrade: kUnavailable with "HTTP 404".
  class Refuse : public Handler {
   public:
    HttpResponse on_http(const HttpRequest&) override { return HttpResponse::text(404, ""); }
  };
  Refuse refuse;
  auto s = Server::create(ServerConfig{}, refuse);
  REQUIRE(s.ok());
  std::thread t([&] { (void)(*s)->run(); });
  auto c = Client::connect("ws://127.0.0.1:" + std::to_string((*s)->port()) + "/nope", {});
  (*s)->stop();
  t.join();
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == w::Code::kUnavailable);
  CHECK(c.status().message().find("HTTP 404") != std::string::npos);
}

TEST_CASE(
    "the retry schedule doubles up to its cap, jittered by half either way, afresh after reset") {
  // The one schedule of native and browser workers: the jitter sample 0
  // gives half the delay, a sample near 1 almost one and a half.
  w::net::RetrySchedule s(0.2, 1.0);
  CHECK(s.next(0.5) == Approx(0.2));
  CHECK(s.next(0.5) == Approx(0.4));
  CHECK(s.next(0.0) == Approx(0.4));                   // 0.8 x 0.5
  CHECK(s.next(0.999) == Approx(1.499).margin(1e-9));  // capped at 1.0, x 1.499
  CHECK(s.next(0.5) == Approx(1.0));                   // stays at the cap
  s.reset();
  CHECK(s.next(0.5) == Approx(0.2));
}

TEST_CASE("Backoff waits out transient failures and gives up after its time") {
  // Delays grow from first_delay; past give_up_after it is kTempFail, and a
  // permanent failure comes back at once.
  RetryOptions o;
  o.give_up_after = 0.3;
  o.first_delay = 0.05;
  o.max_delay = 0.1;
  Backoff b(o);
  const auto start = std::chrono::steady_clock::now();
  w::Status last;
  int rounds = 0;
  while (true) {
    auto again = b.wait(w::Status::Io("refused"), "test server");
    if (!again.ok()) {
      last = again.status();
      break;
    }
    ++rounds;
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(last.code() == w::Code::kTempFail);
  CHECK(last.message().find("test server unreachable") != std::string::npos);
  CHECK(rounds >= 3);
  CHECK(took >= 0.3);
  CHECK(took < 2.0);
  Backoff p(o);
  auto denied = p.wait(w::Status(w::Code::kDenied, "no"), "x");
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.status().code() == w::Code::kDenied);
  // stop() cuts a wait short.
  RetryOptions longer;
  longer.first_delay = 5;
  longer.give_up_after = 0;
  longer.stop = [] { return true; };
  Backoff q(longer);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(q.wait(w::Status::Io("reset"), "x").ok());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
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

TEST_CASE(
    "a client without a service thread runs lws inside its calls: echo, big messages, timeouts, "
    "refusals") {
  Running r;
  ClientOptions o;
  o.service_thread = false;
  o.max_queued = 1 << 20;  // the 3 MiB message below waits for room inside send()
  auto c = Client::connect(r.url("/greet?name=inline"), o);
  REQUIRE(c.ok());
  Message m;
  REQUIRE(*(*c)->receive(m, 5000));
  CHECK(m.data == "hello inline");
  // Nothing arrives: receive() returns false at its deadline, not before.
  const auto t0 = std::chrono::steady_clock::now();
  auto none = (*c)->receive(m, 150);
  REQUIRE(none.ok());
  CHECK_FALSE(*none);
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= std::chrono::milliseconds(140));
  CHECK(waited < std::chrono::seconds(2));
  // Requests in flight before the first answer is read (wsql's window).
  for (int i = 0; i < 200; ++i) REQUIRE((*c)->send(std::to_string(i), i % 2 == 0).ok());
  for (int i = 0; i < 200; ++i) {
    REQUIRE(*(*c)->receive(m, 5000));
    CHECK(m.data == std::to_string(i));
    CHECK(m.binary == (i % 2 == 0));
  }
  std::string big(3 << 20, 'y');
  REQUIRE((*c)->send(big, true).ok());
  REQUIRE((*c)->send("after", false).ok());
  REQUIRE((*c)->flush(10000).ok());
  REQUIRE(*(*c)->receive(m, 10000));
  CHECK(m.data == big);
  REQUIRE(*(*c)->receive(m, 5000));
  CHECK(m.data == "after");
  // The server goes away: receive() reports the close instead of waiting.
  const int port = r.server->port();
  r.server->stop();
  r.thread.join();
  r.server.reset();  // its sockets close with it
  auto gone = (*c)->receive(m, 5000);
  CHECK_FALSE(gone.ok());
  CHECK((*c)->closed());
  // notify_fd() is written only once asked for (wsql never polls it), and
  // then says what happened before it was asked: the close.
  pollfd pfd{(*c)->notify_fd(), POLLIN, 0};
  CHECK(poll(&pfd, 1, 0) == 1);
  // A refused connect fails inside connect(), with no thread to wait for.
  auto refused = Client::connect("ws://127.0.0.1:" + std::to_string(port) + "/", o);
  CHECK_FALSE(refused.ok());
  CHECK(is_transient(refused.status()));
  auto s = Server::create(ServerConfig{}, r.handler);  // for ~Running to stop
  REQUIRE(s.ok());
  r.server = std::move(*s);
  r.thread = std::thread([&r] { (void)r.server->run(); });
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
  CHECK(is_transient(c.status()));  // a server may come up there later
  // Restore something for ~Running to stop.
  auto s = Server::create(ServerConfig{}, r.handler);
  REQUIRE(s.ok());
  r.server = std::move(*s);
  r.thread = std::thread([&r] { (void)r.server->run(); });
}

TEST_CASE(
    "a client without a service thread returns at its deadline even when lws's timer is due at "
    "once") {
  // pump() arms an lws timer at the deadline and waits in lws_service();
  // when that timer is already due as lws works out how long to sleep, lws
  // runs it there and sleeps on, for its own next timer (30 s and more),
  // unless the timer wakes the wait. Many short waits hit that window.
  Running r;
  ClientOptions o;
  o.service_thread = false;
  auto c = Client::connect(r.url("/greet?name=inline"), o);
  REQUIRE(c.ok());
  Message m;
  REQUIRE(*(*c)->receive(m, 5000));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    auto none = (*c)->receive(m, 1 + i % 7);
    REQUIRE(none.ok());
    CHECK_FALSE(*none);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
}
