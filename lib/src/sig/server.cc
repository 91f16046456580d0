// run_wsig: the Hub on a net::Server. One thread: libwebsockets calls the
// Handler methods below, and a 100 ms timer drives expiry and liveness.
#include <chrono>

#include <fmt/format.h>

#include "api.h"
#include "hub.h"
#include "w/diag.h"
#include "w/net.h"
#include "w/sig.h"

namespace w::sig {
namespace {

int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

class SigServer final : public net::Handler, public Outbox {
 public:
  explicit SigServer(const SigOptions& o)
      : options_(o), ws_path_(ws_path(o)), hub_(o, *this, steady_ms), started_(steady_ms()) {}

  Status run() {
    net::ServerConfig c;
    c.host = options_.host == "0.0.0.0" ? "" : options_.host;
    c.port = options_.port;
    c.max_message = options_.max_message;
    c.name = "wsig";
    c.tls_cert = options_.ssl_cert;
    c.tls_key = options_.ssl_key;
    c.rx_buffer = 512;  // signalling messages are small; memory per peer counts
    // Relay links (wrun's RelayLink) ask for this subprotocol: 1 MiB
    // messages read 512 B at a time moved at 40-45 MB/s, at 64 KiB 85-99.
    c.protocols = {std::string(net::kRelayProtocol)};
    c.protocol_rx_buffer = size_t{64} * 1024;
    c.max_protocol_connections = options_.relay_links;  // their buffers, before any key is checked
    c.eager_writes = true;
    c.max_queued = options_.send_queue;  // beyond, try_send() drops: see Outbox
    auto server = net::Server::create(c, *this);
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    diag::info("listening on {}:{} path {} key {}{}", options_.host, server_->port(), options_.path,
               options_.key, options_.ssl_cert.empty() ? "" : " (TLS)");
    server_->every(100, [this] { hub_.tick(); });
    if (options_.stats_interval_s > 0)
      server_->every(options_.stats_interval_s * 1000, [this] { log_stats(); });
    Status s = server_->run();
    log_stats();
    return s;
  }

  net::HttpResponse on_http(const net::HttpRequest& r) override {
    const ApiContext ctx{options_, hub_, server_->stats(), steady_ms() - started_};
    return answer_http(ctx, r);
  }

  bool on_ws_open(net::ConnId conn, const net::HttpRequest& r, int& refusal) override {
    if (r.path != ws_path_) {
      refusal = 400;
      return false;
    }
    // Accepted even when refused by the protocol: PeerJS clients expect the
    // reason as an ERROR message on an open socket. A registered peer is
    // authenticated (w/net.h): a refused one is closed anyway.
    if (hub_.open(conn, r.arg("key"), r.arg("id"), r.arg("token"), r.arg("cap")))
      server_->authenticate(conn);
    return true;
  }

  void on_ws_message(net::ConnId conn, std::string_view data, bool binary) override {
    hub_.message(conn, data, binary);
  }

  void on_ws_close(net::ConnId conn) override { hub_.closed(conn); }

  bool send(ConnId conn, std::string data, bool binary) override {
    return server_->try_send(conn, data, binary);
  }
  void close(ConnId conn) override { server_->close(conn); }

 private:
  void log_stats() {
    const HubStats& h = hub_.stats();
    diag::info("{} peers, {} relayed, {} queued, {} expired, {} dropped, {} timed out",
               hub_.peers(), h.relayed, h.queued, h.expired, h.dropped, h.timed_out);
  }

  const SigOptions& options_;
  const std::string ws_path_;
  Hub hub_;
  int64_t started_;
  std::unique_ptr<net::Server> server_;
};

}  // namespace

Result<SigOptions> normalise(SigOptions o) {
  if (o.path.empty() || o.path.front() != '/') o.path.insert(0, "/");
  if (o.path.back() != '/') o.path += '/';
  if (o.key.empty() || o.key.find('/') != std::string::npos)
    return Status::Invalid(
        fmt::format("invalid key '{}': it must be non-empty, without '/'", o.key));
  if (o.port < 0 || o.port > 65535) return Status::Invalid(fmt::format("invalid port {}", o.port));
  if (o.ssl_key.empty() != o.ssl_cert.empty())
    return Status::Invalid("--sslkey and --sslcert go together");
  if (o.expire_timeout_ms <= 0 || o.alive_timeout_ms <= 0)
    return Status::Invalid("timeouts must be positive");
  if (!(o.rate_limit > 0)) return Status::Invalid("--rate-limit must be positive");
  if (o.send_queue < o.max_message)
    return Status::Invalid("--send-queue must hold at least one --max-message");
  return o;
}

Status run_wsig(const SigOptions& options) {
  auto o = normalise(options);
  if (!o.ok()) return o.status();
  SigServer server(*o);
  return server.run();
}

}  // namespace w::sig
