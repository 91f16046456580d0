// An HTTP + WebSocket server on one libwebsockets context, for every wkit
// server (wpool, wsql, wsig).
//
// Threading: single-threaded. Every Handler callback, send(), close() and
// timer runs on the thread inside Server::run(); nothing here may be called
// from another thread (libwebsockets 4.1 allows only lws_cancel_service()
// from elsewhere, which stop() uses).
//
// A WebSocket is accepted on any path the Handler allows in on_ws_open(), with
// or without a subprotocol (PeerJS clients send none); named subprotocols in
// ServerConfig::protocols are accepted too. Messages arrive whole (fragments
// are joined, up to max_message bytes); send() queues a message and writes
// it when the socket is writeable.
//
// Admission (memory and time bounded before authentication): every
// connection starts unauthenticated, until the Handler calls
// Server::authenticate() for it (wpool: a valid hello; wsql: a valid
// capability; wsig: a registered peer). Until then its messages and POST
// bodies are capped at max_unauthenticated_message bytes, a WebSocket is
// closed after auth_timeout_s, and at most max_unauthenticated connections
// are unauthenticated at once: a newcomer past that closes the oldest, so
// they can never take the places of authenticated ones. Past
// max_connections, a newcomer closes the oldest unauthenticated connection,
// or is refused (503) when every connection is authenticated.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "w/status.h"

namespace w::net {

using ConnId = uint64_t;

struct HttpRequest {
  std::string method;    ///< "GET", "POST", "OPTIONS", ...
  std::string path;      ///< without the query, percent-decoded by lws
  std::string query;     ///< "a=1&b=2" (each arg as sent, joined by '&')
  std::string body;      ///< POST body
  std::string origin;    ///< the Origin header, if any
  std::string peer;      ///< the client's address
  std::string protocol;  ///< WebSocket: the subprotocol agreed on ("" for none)

  /// The value of `name` in the query ("" if absent), percent-decoded.
  std::string arg(std::string_view name) const;
  bool has_arg(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
  std::string file;  ///< if set, serve this file instead of `body`

  static HttpResponse json(int status, std::string body);
  static HttpResponse text(int status, std::string body);
};

/// What a server does with requests; implemented by wpool, wsql, wsig.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual HttpResponse on_http(const HttpRequest& request) = 0;
  /// A WebSocket upgrade on request.path; return false to refuse it (the
  /// client gets HTTP 403 unless `refusal` is set, then that status).
  virtual bool on_ws_open(ConnId, const HttpRequest&, int& refusal) {
    refusal = 404;
    return false;
  }
  virtual void on_ws_message(ConnId, std::string_view /*data*/, bool /*binary*/) {}
  virtual void on_ws_close(ConnId) {}
  /// A message past its cap (`limit` bytes) is closing the connection:
  /// on_ws_close follows. What the peer sent before is kept.
  virtual void on_ws_too_large(ConnId, size_t /*limit*/) {}
  /// Whether a POST's URL or headers (its body is not there yet) carry valid
  /// credentials: then its connection is authenticated and the body may be
  /// up to max_message bytes, else max_unauthenticated_message.
  virtual bool http_authenticated(const HttpRequest&) { return false; }
};

/// The WebSocket subprotocol of wsig's relay links (wsig(1) "Relay"), which
/// wrun's members ask for: the same messages as without one, read by wsig
/// through a larger receive buffer (ServerConfig::protocol_rx_buffer).
inline constexpr std::string_view kRelayProtocol = "wkit-relay";

struct ServerConfig {
  std::string host = "127.0.0.1";      ///< interface address to bind; "" = all
  int port = 0;                        ///< 0: the kernel picks a free port
  std::vector<std::string> protocols;  ///< named WebSocket subprotocols
  size_t max_message = 16u << 20;      ///< bigger incoming messages close the connection
  size_t max_queued = 64u << 20;       ///< bytes queued to a slow client before it is dropped
  std::string name = "wkit";           ///< Server header
  std::string tls_cert;  ///< PEM certificate (chain) file: serve https/wss (needs tls_key);
                         ///< read again on SIGHUP (Server::reload)
  std::string tls_key;   ///< PEM private key file
  /// Run on libev (epoll) if libev.so.4 is there: each loop turn then costs
  /// O(ready sockets) instead of poll()'s O(all sockets), and timers wake
  /// the loop on time: lws's poll() loop floors its wait to whole ms and so
  /// spins for the last ms before every timer (wpool: 1 ms per 20 ms commit).
  bool libev = true;
  /// Receive buffer each WebSocket gets from lws. Messages may be bigger
  /// (they arrive in pieces and are joined); a small one saves a page of
  /// memory per connection (wsig: 2 KiB).
  size_t rx_buffer = size_t{64} * 1024;
  /// The receive buffer of connections that asked for one of `protocols`
  /// (0: rx_buffer): wsig keeps 512 B for its many PeerJS peers and gives
  /// its few relay connections, which carry bulk data, 64 KiB.
  size_t protocol_rx_buffer = 0;
  /// WebSockets on the named `protocols` at once (0: no bound of their
  /// own). lws gives each its protocol_rx_buffer at the upgrade, before
  /// any credentials are checked, so past the bound newcomers are answered
  /// 503 before the upgrade (wsig: 256 relay links, 16 MiB of buffers).
  size_t max_protocol_connections = 0;
  /// send() writes at once when nothing is queued for that socket, instead
  /// of waiting for it to be reported writeable: one system call per
  /// message instead of four under light load.
  bool eager_writes = false;
  /// After a message, look for the next one this long without sleeping
  /// (libev loop only; 0: never). A client with one request at a time then
  /// does not wait for the server to wake up (wsql's point select at one
  /// in flight: p50 74 -> 46 us), at the cost of a core while requests
  /// keep coming closer than this.
  int busy_poll_us = 0;

  // Admission (see the top of this file).
  /// Connections at once, HTTP and WebSocket. 0: the descriptor limit
  /// (ulimit -n) less reserved_fds; an explicit value raises the soft
  /// descriptor limit as far as the hard one allows, and is cut to it.
  size_t max_connections = 0;
  /// Descriptors kept for everything but connections (files, databases).
  size_t reserved_fds = 64;
  /// Unauthenticated connections at once; 0: half of max_connections, at
  /// most 4096.
  size_t max_unauthenticated = 0;
  /// Largest message or POST body before authentication.
  size_t max_unauthenticated_message = size_t{64} * 1024;
  /// An unauthenticated WebSocket is closed (1008) this long after it
  /// connected; an unauthenticated POST body must arrive within it.
  double auth_timeout_s = 10;
  /// An authenticated WebSocket that sends nothing this long is closed
  /// (1001); 0: never.
  double idle_timeout_s = 0;
};

struct ServerStats {
  uint64_t http_requests = 0;
  uint64_t ws_opened = 0;
  uint64_t ws_open_now = 0;
  uint64_t messages_in = 0, messages_out = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  uint64_t connections_now = 0;      ///< HTTP and WebSocket
  uint64_t unauthenticated_now = 0;  ///< of connections_now
  uint64_t refused = 0;              ///< newcomers refused: every place authenticated
  uint64_t evicted = 0;              ///< unauthenticated closed to make room
  uint64_t auth_timeouts = 0;        ///< unauthenticated closed at auth_timeout_s
  uint64_t idle_timeouts = 0;        ///< authenticated closed at idle_timeout_s
  uint64_t too_big = 0;              ///< messages and bodies over their cap
  uint64_t tls_reloads = 0;          ///< certificates reloaded on SIGHUP
  uint64_t tls_reload_failures = 0;  ///< SIGHUPs whose files did not make a good pair
  uint64_t protocol_now = 0;         ///< WebSockets on a named subprotocol
  uint64_t protocol_refused = 0;     ///< of those, refused: max_protocol_connections open
};

class Server {
 public:
  /// Binds and listens; errors name the address ("listen 127.0.0.1:80: ...").
  static Result<std::unique_ptr<Server>> create(const ServerConfig& config, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;  ///< the bound port (useful with port 0)

  /// Queues a WebSocket message. Unknown or closed ids are ignored. A
  /// client with more than max_queued bytes waiting is closed ("too slow").
  void send(ConnId id, const std::string& data, bool binary);
  /// Like send(), but a message that would take the queue past max_queued
  /// is dropped instead (false), and the client stays (wsig: the sender,
  /// not the slow receiver, pays for a flood).
  bool try_send(ConnId id, const std::string& data, bool binary);
  /// The handler has checked this connection's credentials: lifts the
  /// limits of unauthenticated connections from it (see the top of the
  /// file). May be called from on_ws_open().
  void authenticate(ConnId id);
  /// Closes a WebSocket after what is queued has been written.
  void close(ConnId id, int code = 1000, std::string reason = "");
  bool is_open(ConnId id) const;

  /// Calls `fn` every `ms` milliseconds on the service thread.
  void every(int ms, std::function<void()> fn);
  /// Calls `fn` once, `ms` milliseconds from now (0: after this loop turn).
  void after(int ms, std::function<void()> fn);

  /// Serves until stop() or SIGINT/SIGTERM (then Code::kInterrupted is not
  /// returned: a signal is the normal way to end a server). SIGHUP reloads
  /// the TLS certificate (reload()).
  Status run();
  /// Asks run() to return; safe from a signal handler or another thread.
  void stop();
  /// Asks the service thread to read tls_cert and tls_key again: new
  /// connections get the new pair, open ones keep theirs, and a pair that
  /// does not load or match is refused (logged) and the old one kept. Safe
  /// from a signal handler or another thread.
  void reload();

  const ServerStats& stats() const { return stats_; }
  /// The limits in force (max_connections after the descriptor limit, the
  /// derived max_unauthenticated).
  size_t max_connections() const;
  size_t max_unauthenticated() const;

  struct Impl;

 private:
  Server() = default;
  std::unique_ptr<Impl> impl_;
  ServerStats stats_;
};

/// Splits "host:port", "[ipv6]:port", "*:port" (host "0.0.0.0"), "port" or
/// ":port" (host defaults to 127.0.0.1). The host may be a name: the server
/// resolves it when it starts (Server::create).
Result<std::pair<std::string, int>> parse_listen(std::string_view text);

/// "host:port", or "[host]:port" for an IPv6 address: as parse_listen reads it.
std::string host_port(std::string_view host, int port);

/// Percent-decodes a URL component ('+' becomes a space).
std::string url_decode(std::string_view text);

/// Appends the admission figures of `stats` to a Prometheus text page, each
/// name starting with `prefix` ("wsql"): unauthenticated connections, and
/// connections refused, evicted and timed out, messages over their cap.
void append_admission_metrics(std::string& out, std::string_view prefix, const ServerStats& stats);

}  // namespace w::net
