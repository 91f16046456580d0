// TLS on both ends: a Server with a certificate of a test CA made here by
// openssl(1), and Clients that verify it (or refuse to), reload it, and
// one request over net::exchange().
#include "w/net_client.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "w/net.h"

using namespace w::net;

namespace {

// A directory with a CA (ca.pem) and server certificates it signed:
// NAME.pem / NAME.key for the names given to issue().
struct TestCa {
  std::string dir;
  TestCa() {
    char tmpl[] = "/tmp/wkit-tls-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
        "-out ca.pem -days 2 "
        "-subj '/CN=wkit test CA'");
  }
  ~TestCa() { std::filesystem::remove_all(dir); }
  void run(const std::string& cmd) const {
    REQUIRE(std::system(("cd " + dir + " && { " + cmd + "; } >/dev/null 2>&1").c_str()) == 0);
  }
  // Issues NAME.pem/NAME.key for the subjectAltName `san` (DNS:localhost,IP:127.0.0.1).
  void issue(const std::string& name, const std::string& san) const {
    std::ofstream(dir + "/" + name + ".ext") << "subjectAltName=" << san << "\n";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj '/CN=" + name + "' && openssl x509 -req -in " + name +
        ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out " + name + ".pem -extfile " +
        name + ".ext");
  }
  std::string path(const std::string& file) const { return dir + "/" + file; }
};

class Echo : public Handler {
 public:
  Server* server = nullptr;
  HttpResponse on_http(const HttpRequest& r) override {
    return HttpResponse::text(200, "got " + std::to_string(r.body.size()) + "\n");
  }
  bool on_ws_open(ConnId id, const HttpRequest&, int&) override {
    server->authenticate(id);
    return true;
  }
  void on_ws_message(ConnId id, std::string_view d, bool binary) override {
    server->send(id, std::string(d), binary);
  }
};

struct TlsServer {
  Echo handler;
  std::unique_ptr<Server> server;
  std::thread thread;
  TlsServer(const std::string& cert, const std::string& key) {
    ServerConfig c;
    c.tls_cert = cert;
    c.tls_key = key;
    auto s = Server::create(c, handler);
    REQUIRE(s.ok());
    server = std::move(*s);
    handler.server = server.get();
    thread = std::thread([this] { (void)server->run(); });
  }
  ~TlsServer() {
    server->stop();
    thread.join();
  }
  std::string url(const std::string& scheme, const std::string& host) const {
    return scheme + "://" + host + ":" + std::to_string(server->port()) + "/x";
  }
};

ClientOptions trusting(const std::string& cacert) {
  ClientOptions o;
  o.connect_timeout = 5;
  o.tls.cacert = cacert;
  return o;
}

bool echoes(Client& c, const std::string& text) {
  Message m;
  if (!c.send(text, false).ok()) return false;
  auto got = c.receive(m, 5000);
  return got.ok() && *got && m.data == text;
}

}  // namespace

TEST_CASE("wss verifies the server against --cacert and talks") {
  // The test CA signed the server's certificate for localhost and
  // 127.0.0.1: both names verify, and messages go both ways.
  TestCa ca;
  ca.issue("server", "DNS:localhost,IP:127.0.0.1");
  TlsServer s(ca.path("server.pem"), ca.path("server.key"));
  for (const char* host : {"localhost", "127.0.0.1"}) {
    CAPTURE(host);
    auto c = Client::connect(s.url("wss", host), trusting(ca.path("ca.pem")));
    REQUIRE(c.ok());
    CHECK(echoes(**c, "over TLS"));
  }
  auto h = Client::connect(s.url("https", "localhost"), trusting(ca.path("ca.pem")));
  REQUIRE(h.ok());
  CHECK(echoes(**h, "https:// is wss://"));
}

TEST_CASE("a certificate the client cannot verify is a permanent TLS failure") {
  // The system's CAs do not know the test CA; another CA's file does not
  // either; a name the certificate lacks fails too. Never a fallback.
  TestCa ca, other;
  ca.issue("server", "DNS:localhost,IP:127.0.0.1");
  ca.issue("elsewhere", "DNS:elsewhere.example");
  TlsServer s(ca.path("server.pem"), ca.path("server.key"));
  ClientOptions system;
  system.connect_timeout = 5;
  auto a = Client::connect(s.url("wss", "localhost"), system);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == w::Code::kTls);
  CHECK(a.status().message().find("certificate verify failed") != std::string::npos);
  CHECK_FALSE(is_transient(a.status()));
  auto b = Client::connect(s.url("wss", "localhost"), trusting(other.path("ca.pem")));
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().code() == w::Code::kTls);
  TlsServer wrong_name(ca.path("elsewhere.pem"), ca.path("elsewhere.key"));
  auto n = Client::connect(wrong_name.url("wss", "localhost"), trusting(ca.path("ca.pem")));
  REQUIRE_FALSE(n.ok());
  CHECK(n.status().code() == w::Code::kTls);
  CHECK(n.status().message().find("certificate verify failed") != std::string::npos);
  // --insecure connects anyway (its warning is the tool's to print).
  ClientOptions insecure = system;
  insecure.tls.insecure = true;
  auto i = Client::connect(wrong_name.url("wss", "localhost"), insecure);
  REQUIRE(i.ok());
  CHECK(echoes(**i, "unchecked"));
}

TEST_CASE("a --cacert file holds certificates, or the error says what is wrong") {
  // A missing file or one without a PEM certificate fails before connecting.
  TestCa ca;
  ca.issue("server", "DNS:localhost");
  TlsServer s(ca.path("server.pem"), ca.path("server.key"));
  auto missing = Client::connect(s.url("wss", "localhost"), trusting(ca.path("nope.pem")));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == w::Code::kNotFound);
  std::ofstream(ca.path("junk.pem")) << "not a certificate\n";
  auto junk = Client::connect(s.url("wss", "localhost"), trusting(ca.path("junk.pem")));
  REQUIRE_FALSE(junk.ok());
  CHECK(junk.status().message().find("no PEM certificate") != std::string::npos);
}

TEST_CASE("ws:// to a TLS server is refused in clear: HTTP 426, permanent") {
  // Nothing is served without TLS on a TLS port, not even the upgrade.
  TestCa ca;
  ca.issue("server", "DNS:localhost,IP:127.0.0.1");
  TlsServer s(ca.path("server.pem"), ca.path("server.key"));
  auto c = Client::connect(s.url("ws", "127.0.0.1"), {});
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == w::Code::kUnavailable);
  CHECK(c.status().message().find("HTTP 426") != std::string::npos);
}

TEST_CASE("wss:// to a server without TLS fails at once as a TLS failure") {
  // A plain server answers the ClientHello with HTTP junk: kTls, not a retry.
  Echo plain;
  auto s = Server::create(ServerConfig{}, plain);
  REQUIRE(s.ok());
  plain.server = s->get();
  std::thread t([&] { (void)(*s)->run(); });
  ClientOptions o;
  o.connect_timeout = 5;
  auto c = Client::connect("wss://127.0.0.1:" + std::to_string((*s)->port()) + "/", o);
  (*s)->stop();
  t.join();
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == w::Code::kTls);
}

TEST_CASE("reload() takes a renewed certificate without dropping connections") {
  // The server starts with a certificate of CA 1, is given one of CA 2 and
  // reloads: a client trusting only CA 2 gets in after, not before, and a
  // connection made before the reload still echoes. A key that does not
  // match its certificate is refused and the working pair kept.
  TestCa one, two;
  one.issue("server", "DNS:localhost");
  two.issue("server", "DNS:localhost");
  const std::string cert = one.path("live.pem"), key = one.path("live.key");
  std::filesystem::copy_file(one.path("server.pem"), cert);
  std::filesystem::copy_file(one.path("server.key"), key);
  TlsServer s(cert, key);
  auto before = Client::connect(s.url("wss", "localhost"), trusting(one.path("ca.pem")));
  REQUIRE(before.ok());
  REQUIRE_FALSE(Client::connect(s.url("wss", "localhost"), trusting(two.path("ca.pem"))).ok());

  // A mismatched pair (CA 2's certificate, CA 1's key): nothing changes.
  std::filesystem::copy_file(two.path("server.pem"), cert,
                             std::filesystem::copy_options::overwrite_existing);
  s.server->reload();
  for (int i = 0; i < 100 && s.server->stats().tls_reload_failures == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(s.server->stats().tls_reload_failures == 1);
  CHECK(Client::connect(s.url("wss", "localhost"), trusting(one.path("ca.pem"))).ok());

  std::filesystem::copy_file(two.path("server.key"), key,
                             std::filesystem::copy_options::overwrite_existing);
  s.server->reload();
  for (int i = 0; i < 100 && s.server->stats().tls_reloads == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(s.server->stats().tls_reloads == 1);
  auto after = Client::connect(s.url("wss", "localhost"), trusting(two.path("ca.pem")));
  REQUIRE(after.ok());
  CHECK(echoes(**after, "new certificate"));
  CHECK(echoes(**before, "old connection still open"));
}

TEST_CASE("exchange() sends one request over TLS and reads the answer") {
  // An HTTP POST over https, verified like a WebSocket; a wrong CA fails
  // before anything is sent.
  TestCa ca, other;
  ca.issue("server", "DNS:localhost");
  TlsServer s(ca.path("server.pem"), ca.path("server.key"));
  WsUrl where = *parse_ws_url(s.url("https", "localhost"));
  const std::string post =
      "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: "
      "close\r\n\r\nhello";
  TlsOptions tls;
  tls.cacert = ca.path("ca.pem");
  auto got = exchange(where, "https://localhost", post, 5, tls);
  REQUIRE(got.ok());
  CHECK(got->starts_with("HTTP/1.1 200"));
  CHECK(got->find("got 5") != std::string::npos);
  tls.cacert = other.path("ca.pem");
  auto bad = exchange(where, "https://localhost", post, 5, tls);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == w::Code::kTls);
  CHECK(bad.status().message().find("certificate verify failed") != std::string::npos);
}
