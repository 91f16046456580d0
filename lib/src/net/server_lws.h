// The insides of w::net::Server on libwebsockets 4.1, shared by its files:
// server_lws.cc (the lws callback, WebSocket, timers), server_http_lws.cc
// (HTTP requests) and admission_lws.cc (connection limits before and after
// authentication).
//
// Threading: everything here runs on the thread inside Server::run().
#pragma once

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "w/net.h"

namespace w::net {

struct LibEv;  // the libev functions lws's foreign loop needs (server_lws.cc)

struct Outgoing {
  std::string data;  // LWS_PRE bytes of headroom, then the message
  bool binary = false;
};

// What a queued message costs beyond its bytes (list node, Outgoing, heap
// block, LWS_PRE): counted in Session::queued_bytes, so a queue of tiny
// messages is bounded in memory too.
constexpr size_t kQueuedOverhead = 96;

// How long a connection closed while its peer was still sending stays open
// after the close frame, unread, so the peer can read what we sent last.
constexpr int kLingerMs = 1000;

// Newcomers refused because every place is authenticated are answered 503
// (not just hung up on), this many at a time; past that they are hung up on.
constexpr size_t kMaxOverLimit = 16;

// A close while the peer is still sending waits a moment (Impl::linger).
enum class Linger : uint8_t { kNo, kWaiting, kDone };

// One per connection (lws*), HTTP or WebSocket: created at its first
// callback (WSI_CREATE), destroyed when lws closes it.
struct Session {
  ConnId id = 0;
  bool is_ws = false;
  bool ws_open = false;         // on_ws_open accepted it: on_ws_close is owed
  bool established = false;     // the 101 answer is out: messages may be written
  bool named_protocol = false;  // counted in ServerStats::protocol_now
  HttpRequest request;
  HttpResponse response;
  size_t body_sent = 0;
  std::string partial;  // WebSocket message being assembled
  // Not a deque: an empty std::deque already holds ~600 bytes, and most of
  // a busy server's sockets are idle (wsig: 10,000 peers).
  std::list<Outgoing> out;
  size_t queued_bytes = 0;  // messages in `out`, each + kQueuedOverhead
  bool closing = false;
  Linger lingering = Linger::kNo;
  int close_code = 1000;
  std::string close_reason;

  // Admission (admission_lws.cc).
  bool authenticated = false;
  bool forgotten = false;     // no longer counted (evicted, or closed)
  bool over_limit = false;    // let in past the limits only to be told 503
  bool body_too_big = false;  // this POST's body passed its cap: discarded, answered 413
  bool canned = false;        // `response` is set already: do not ask the handler
  int64_t since_us = 0;       // connected (unauthenticated) or last bytes in (authenticated)
  int64_t request_us = 0;     // this POST's headers arrived
  std::list<lws*>::iterator waiting;  // place in Impl::unauthenticated while there
};

struct Server::Impl {
  // On libev a timer is an ev_timer of its own: lws 4.1 keeps one libev
  // timer for all its suls and cannot bring it forward (ev_timer_set on an
  // active watcher is ignored), so a sul due before lws's next one waited
  // for it (wsql's 1 ms commit timer: for ever). On poll() it is a sul.
  struct Timer {
    struct Sul {
      lws_sorted_usec_list_t sul;  // first member: the callback casts back
      Timer* owner;
    } sul;
    ev_timer ev{};
    Impl* impl = nullptr;
    std::function<void()> fn;
    lws_usec_t period = 0;
  };

  Server* self = nullptr;
  Handler* handler = nullptr;
  ServerConfig config;
  lws_context* ctx = nullptr;
  std::vector<std::string> protocol_names;
  std::vector<lws_protocols> protocols;
  std::unordered_map<lws*, std::unique_ptr<Session>> sessions;
  std::unordered_map<ConnId, lws*> conns;
  ConnId next_id = 1;
  std::vector<std::unique_ptr<Timer>> timers;
  std::atomic<bool> stop_requested{false};
  uint64_t received = 0;  ///< WebSocket messages and HTTP requests seen (busy_poll())
  void busy_poll();
  void run_ev(int how);  ///< one ev_run of the libev loop (EVRUN_NOWAIT, EVRUN_ONCE)
  // TLS: the vhost's context, as lws made it (LOAD_EXTRA_SERVER_VERIFY_CERTS),
  // and a reload asked for by SIGHUP, done on the service thread.
  SSL_CTX* ssl_ctx = nullptr;
  std::atomic<bool> reload_requested{false};
  std::string scratch;        // write_now's buffer, with LWS_PRE headroom
  const LibEv* ev = nullptr;  // set when the context runs on a libev loop
  void* ev_loop = nullptr;

  // Admission: the limits in force, and the unauthenticated connections,
  // oldest first (the first to make room, the first past the deadline).
  size_t max_connections = 0, max_unauthenticated = 0;
  std::list<lws*> unauthenticated;
  size_t over_limit = 0;         // sessions let in to be told 503 (kMaxOverLimit)
  bool next_over_limit = false;  // admit() let the next one in for that

  static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
  int on_callback(lws* wsi, lws_callback_reasons reason, void* in, size_t len);
  Session& session(lws* wsi);
  void drop(lws* wsi);
  int start_http(lws* wsi, const char* uri);
  int receive_body(lws* wsi, Session& s, const char* data, size_t len);
  int respond(lws* wsi, Session& s);
  int write_http_body(lws* wsi, Session& s);
  int accept_ws(lws* wsi);
  int receive_ws(lws* wsi, Session& s, const char* data, size_t len);
  int write_ws(lws* wsi, Session& s);
  int linger(lws* wsi, Session& s);
  static bool unread_input(lws* wsi);
  void write_now(lws* wsi, Session& s, std::string_view data, bool binary);
  static void timer_fired(lws_sorted_usec_list_t* sul);
  static void ev_timer_fired(struct ev_loop* loop, ev_timer* w, int revents);
  /// Runs timer `t` (every `period`, or once after `delay` us, then frees it).
  void schedule(std::unique_ptr<Timer> t, lws_usec_t delay);
  void fire(Timer* t);

  // Admission (admission_lws.cc).
  /// Sets max_connections and max_unauthenticated from the config and the
  /// descriptor limit (raising the soft one if the config asks for more).
  void set_limits();
  /// A connection is being accepted: true to take it, after closing the
  /// oldest unauthenticated one if a limit is reached; false to refuse it.
  bool admit();
  /// A new connection's session: counted, unauthenticated.
  void opened(lws* wsi, Session& s);
  /// The session is going away (closed by either side, or evicted).
  void forget(Session& s);
  void authenticate(Session& s);
  /// Closes unauthenticated WebSockets past the deadline and idle
  /// authenticated ones; runs from a timer.
  void sweep();
  /// The cap on one message or body of `s`.
  size_t message_cap(const Session& s) const;
  /// Asks lws to close `wsi` politely: the close frame after what is queued.
  void close_ws(lws* wsi, Session& s, int code, std::string reason);
  /// Reads the certificate and key files again (SIGHUP): new connections
  /// get the new pair, open ones keep theirs; a bad pair changes nothing.
  void reload_tls();
};

/// Microseconds on a clock that never goes back.
int64_t now_us();

/// A request header's value ("" if absent).
std::string request_header(lws* wsi, lws_token_indexes token);
/// The query string, its arguments joined by '&'.
std::string request_query(lws* wsi);
/// The client's address.
std::string request_peer(lws* wsi);

/// The address a server listens on for `host` (an IPv4 or IPv6 literal, or
/// a name resolved once: its IPv4 address when it has one; "" = every IPv4
/// interface) and `port`; Code::kNoHost when the name does not resolve.
Result<sockaddr_storage> listen_address(const std::string& host, int port);

/// The numeric text of an address ("127.0.0.1", "::1"), for lws's iface.
std::string numeric_address(const sockaddr_storage& address);

}  // namespace w::net
