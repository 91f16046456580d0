// w::net::Server on libwebsockets 4.1: one context, one vhost, one callback
// for HTTP and WebSocket alike.
//
// Each connection (lws*) has a Session, created at its first callback and
// destroyed when lws closes it. HTTP is server_http_lws.cc's. WebSocket:
// incoming fragments are joined into messages; outgoing messages wait in a
// queue and are written one per SERVER_WRITEABLE, as lws requires. Limits
// on connections and on what they may cost are admission_lws.cc's.
#include "server_lws.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tls.h"
#include "w/diag.h"

namespace w::net {

// The libev calls a foreign loop and its timers need, found at run time:
// lws already loads libev.so.4 for its evlib plugin, and this way no build
// needs a link line (only <ev.h>, which libwebsockets-dev brings). Absent
// libev, servers fall back to poll().
struct LibEv {
  void* (*loop_new)(unsigned flags);
  int (*run)(void* loop, int flags);
  void (*loop_destroy)(void* loop);
  void (*timer_start)(struct ev_loop* loop, ev_timer* w);
  void (*timer_stop)(struct ev_loop* loop, ev_timer* w);

  static const LibEv* load() {
    static const LibEv* loaded = [] {
      void* lib = dlopen("libev.so.4", RTLD_NOW | RTLD_LOCAL);
      if (!lib) return static_cast<LibEv*>(nullptr);
      static LibEv ev;
      ev.loop_new = reinterpret_cast<void* (*)(unsigned)>(dlsym(lib, "ev_loop_new"));
      ev.run = reinterpret_cast<int (*)(void*, int)>(dlsym(lib, "ev_run"));
      ev.loop_destroy = reinterpret_cast<void (*)(void*)>(dlsym(lib, "ev_loop_destroy"));
      ev.timer_start =
          reinterpret_cast<void (*)(struct ev_loop*, ev_timer*)>(dlsym(lib, "ev_timer_start"));
      ev.timer_stop =
          reinterpret_cast<void (*)(struct ev_loop*, ev_timer*)>(dlsym(lib, "ev_timer_stop"));
      return ev.loop_new && ev.run && ev.loop_destroy && ev.timer_start && ev.timer_stop ? &ev
                                                                                         : nullptr;
    }();
    return loaded;
  }
};

namespace {

// lws reports every dropped client as an error; that is our debug level.
void lws_log_to_diag(int, const char* line) {
  std::string_view s(line);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  diag::debug("lws: {}", s);
}

}  // namespace

std::string request_header(lws* wsi, lws_token_indexes token) {
  int n = lws_hdr_total_length(wsi, token);
  if (n <= 0) return {};
  std::string v(static_cast<size_t>(n) + 1, '\0');
  if (lws_hdr_copy(wsi, v.data(), n + 1, token) < 0) return {};
  v.resize(static_cast<size_t>(n));
  return v;
}

std::string request_query(lws* wsi) {
  std::string q;
  char buf[4096];
  for (int i = 0;; ++i) {
    int n = lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n <= 0) break;
    if (!q.empty()) q += '&';
    q.append(buf, static_cast<size_t>(n));
  }
  return q;
}

std::string request_peer(lws* wsi) {
  char name[128] = "";
  lws_get_peer_simple(wsi, name, sizeof name);
  return name;
}

Session& Server::Impl::session(lws* wsi) {
  auto& slot = sessions[wsi];
  if (!slot) {
    slot = std::make_unique<Session>();
    slot->id = next_id++;
    opened(wsi, *slot);
  }
  return *slot;
}

void Server::Impl::drop(lws* wsi) {
  auto it = sessions.find(wsi);
  if (it == sessions.end()) return;
  std::unique_ptr<Session> s = std::move(it->second);
  sessions.erase(it);
  forget(*s);
  if (s->named_protocol) --self->stats_.protocol_now;
  if (s->is_ws) {
    conns.erase(s->id);
    if (s->ws_open) {
      --self->stats_.ws_open_now;
      handler->on_ws_close(s->id);
    }
  }
}

int Server::Impl::callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                           size_t len) {
  auto* impl = static_cast<Impl*>(lws_context_user(lws_get_context(wsi)));
  if (!impl) return lws_callback_http_dummy(wsi, reason, nullptr, in, len);
  if (reason == LWS_CALLBACK_RECEIVE || reason == LWS_CALLBACK_HTTP) ++impl->received;
  if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS) {
    impl->ssl_ctx = static_cast<SSL_CTX*>(user);  // the vhost's, made from tls_cert/tls_key
    return 0;
  }
  return impl->on_callback(wsi, reason, in, len);
}

void Server::Impl::run_ev(int how) {
  ev->run(ev_loop, how);
}

void Server::Impl::reload_tls() {
  if (!ssl_ctx) {
    diag::info("reload: no TLS certificate to reload (no --sslcert)");
    return;
  }
  if (Status s = reload_server_cert(ssl_ctx, config.tls_cert, config.tls_key); !s.ok()) {
    ++self->stats_.tls_reload_failures;
    diag::error("reload: kept the TLS certificate in use: {}", s.message());
    return;
  }
  ++self->stats_.tls_reloads;
  diag::info("reload: new TLS certificate from '{}' (open connections keep theirs)",
             config.tls_cert);
}

int Server::Impl::on_callback(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
  switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
      return admit() ? 0 : 1;  // `wsi` is the listening socket's: no session
    case LWS_CALLBACK_WSI_CREATE:
      session(wsi);  // counted from its first moment
      return 0;
    case LWS_CALLBACK_HTTP:
      return start_http(wsi, static_cast<const char*>(in));
    case LWS_CALLBACK_HTTP_BODY:
      return receive_body(wsi, session(wsi), static_cast<const char*>(in), len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
      Session& s = session(wsi);
      if (!s.body_too_big) return respond(wsi, s);
      s.canned = true;
      s.response = HttpResponse::json(
          413, fmt::format("{{\"error\":{{\"code\":\"too_big\",\"message\":\"a request body over "
                           "{} bytes needs valid credentials in the URL (?cap=...)\"}}}}\n",
                           message_cap(s)));
      return respond(wsi, s);
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
      auto it = sessions.find(wsi);
      return it == sessions.end() ? 0 : write_http_body(wsi, *it->second);
    }
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
      if (lws_http_transaction_completed(wsi)) return -1;
      return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
      drop(wsi);
      return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
      return accept_ws(wsi);
    case LWS_CALLBACK_ESTABLISHED: {
      Session& s = session(wsi);
      s.established = true;
      if (!s.out.empty() || s.closing) lws_callback_on_writable(wsi);
      return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
      auto it = sessions.find(wsi);
      if (it == sessions.end()) return -1;
      return receive_ws(wsi, *it->second, static_cast<const char*>(in), len);
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      auto it = sessions.find(wsi);
      return it == sessions.end() ? 0 : write_ws(wsi, *it->second);
    }
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
      drop(wsi);
      return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      // Once per protocol per wake-up: the exchange makes it one reload.
      if (reload_requested.exchange(false)) reload_tls();
      return 0;
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, reason, nullptr, in, len);
}

int Server::Impl::accept_ws(lws* wsi) {
  Session& s = session(wsi);
  if (s.over_limit) {
    lws_return_http_status(wsi, 503, nullptr);  // every place is authenticated
    return 1;
  }
  if (!config.tls_cert.empty() && !lws_is_ssl(wsi)) {
    // ws:// to a wss:// server: 426 Upgrade Required, never a clear channel.
    lws_return_http_status(wsi, 426, nullptr);
    return 1;
  }
  // A named subprotocol brings its own receive buffer (protocol_rx_buffer),
  // which lws allocates at the upgrade: bounded here, before it exists.
  // (By name: lws binds the vhost's copy of `protocols`, not our array.)
  if (const lws_protocols* p = lws_get_protocol(wsi);
      p && p->name && protocol_names.front() != p->name) {
    if (config.max_protocol_connections != 0 &&
        self->stats_.protocol_now >= config.max_protocol_connections) {
      ++self->stats_.protocol_refused;
      lws_return_http_status(wsi, 503, nullptr);
      return 1;
    }
    s.named_protocol = true;
    ++self->stats_.protocol_now;
    s.request.protocol = p->name;
  }
  s.is_ws = true;
  s.request.method = "GET";
  s.request.path = request_header(wsi, WSI_TOKEN_GET_URI);
  if (auto q = s.request.path.find('?'); q != std::string::npos) s.request.path.resize(q);
  s.request.query = request_query(wsi);
  s.request.origin = request_header(wsi, WSI_TOKEN_ORIGIN);
  s.request.peer = request_peer(wsi);
  conns[s.id] = wsi;
  int refusal = 403;
  if (!handler->on_ws_open(s.id, s.request, refusal)) {
    // The session stays until lws closes the socket, counted until then.
    conns.erase(s.id);
    s.is_ws = false;
    lws_return_http_status(wsi, static_cast<unsigned int>(refusal), nullptr);
    return 1;
  }
  s.ws_open = true;
  s.request = HttpRequest();  // the handler has taken what it needs
  ++self->stats_.ws_opened;
  ++self->stats_.ws_open_now;
  return 0;
}

int Server::Impl::receive_ws(lws* wsi, Session& s, const char* data, size_t len) {
  if (s.closing) {
    // What a closing connection still sends is not wanted: not even joined.
    if (!s.partial.empty()) s.partial = std::string();
    return 0;
  }
  if (s.partial.size() + len > message_cap(s)) {
    ++self->stats_.too_big;
    if (s.ws_open) handler->on_ws_too_large(s.id, message_cap(s));
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, nullptr, 0);
    return -1;
  }
  if (s.authenticated) s.since_us = now_us();  // not idle
  s.partial.append(data, len);
  self->stats_.bytes_in += len;
  if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0) return 0;
  std::string message = std::move(s.partial);
  s.partial.clear();
  ++self->stats_.messages_in;
  handler->on_ws_message(s.id, message, lws_frame_is_binary(wsi) != 0);
  return 0;
}

int Server::Impl::write_ws(lws* wsi, Session& s) {
  if (s.out.empty()) {
    if (!s.closing || s.lingering == Linger::kWaiting) return 0;
    if (s.lingering == Linger::kNo && unread_input(wsi)) return linger(wsi, s);
    lws_close_reason(wsi, static_cast<lws_close_status>(s.close_code),
                     reinterpret_cast<unsigned char*>(s.close_reason.data()),
                     s.close_reason.size());
    return -1;
  }
  Outgoing& m = s.out.front();
  const size_t n = m.data.size() - LWS_PRE;
  if (lws_write(wsi, reinterpret_cast<unsigned char*>(m.data.data() + LWS_PRE), n,
                m.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < static_cast<int>(n))
    return -1;
  self->stats_.bytes_out += n;
  ++self->stats_.messages_out;
  s.queued_bytes -= n + kQueuedOverhead;
  s.out.pop_front();
  if (!s.out.empty() || s.closing) lws_callback_on_writable(wsi);
  return 0;
}

// A peer still sending when we close (a flooder, a pipelining client being
// refused) gets a reset for its unread bytes, and its socket may drop what
// we wrote last (an error message) before the application reads it: lws
// closes the socket right after the close frame. So first a pause of
// kLingerMs without reading: what we wrote reaches the peer, and the peer,
// unread, slows down; then the close.
int Server::Impl::linger(lws* wsi, Session& s) {
  s.lingering = Linger::kWaiting;
  lws_rx_flow_control(wsi, 0);
  self->after(kLingerMs, [this, id = s.id] {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    sessions.at(it->second)->lingering = Linger::kDone;
    lws_callback_on_writable(it->second);
  });
  return 0;
}

bool Server::Impl::unread_input(lws* wsi) {
  int n = 0;
  return ioctl(lws_get_socket_fd(wsi), FIONREAD, &n) == 0 && n > 0;
}

// Writes a message at once, outside SERVER_WRITEABLE (ServerConfig::
// eager_writes). lws keeps what the socket does not take in its own buffer
// and sends it, in order, when the socket is writeable; send() only comes
// here while that buffer and our queue are empty, so nothing grows unseen.
void Server::Impl::write_now(lws* wsi, Session& s, std::string_view data, bool binary) {
  scratch.resize(LWS_PRE + data.size());
  std::memcpy(scratch.data() + LWS_PRE, data.data(), data.size());
  auto* p = reinterpret_cast<unsigned char*>(scratch.data() + LWS_PRE);
  if (lws_write(wsi, p, data.size(), binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) <
      static_cast<int>(data.size())) {
    s.closing = true;  // write_ws closes it from the next WRITEABLE
    s.close_code = 1011;
    lws_callback_on_writable(wsi);
    return;
  }
  self->stats_.bytes_out += data.size();
  ++self->stats_.messages_out;
}

void Server::Impl::schedule(std::unique_ptr<Timer> t, lws_usec_t delay) {
  t->sul.owner = t.get();
  t->impl = this;
  if (ev_loop) {
    const double repeat = static_cast<double>(t->period) / 1e6;
    ev_timer_init(&t->ev, ev_timer_fired, static_cast<double>(delay) / 1e6, repeat);
    t->ev.data = t.get();
    ev->timer_start(static_cast<struct ev_loop*>(ev_loop), &t->ev);
  } else {
    lws_sul_schedule(ctx, 0, &t->sul.sul, timer_fired, delay);
  }
  timers.push_back(std::move(t));
}

Result<std::unique_ptr<Server>> Server::create(const ServerConfig& config, Handler& handler) {
  auto where = listen_address(config.host, config.port);
  if (!where.ok()) return where.status();
  const bool ipv6 = where->ss_family == AF_INET6;
  // Bind once ourselves first: lws only logs why a bind failed, and a user
  // needs "Address already in use" in the error.
  if (config.port != 0) {
    int fd = ::socket(where->ss_family, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const socklen_t size = ipv6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&*where), size) != 0) {
      int err = errno;
      ::close(fd);
      return errno_status(
          fmt::format("listen {}",
                      host_port(config.host.empty() ? "0.0.0.0" : config.host, config.port)),
          err);
    }
    ::close(fd);
  }

  std::unique_ptr<Server> server(new Server());
  auto impl = std::make_unique<Impl>();
  impl->self = server.get();
  impl->handler = &handler;
  impl->config = config;
  // lws is given the numeric address: it takes no host names.
  if (!config.host.empty()) impl->config.host = numeric_address(*where);
  impl->set_limits();  // before lws sizes its tables by the descriptor limit
  lws_set_log_level(diag::verbosity() >= 2 ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : 0,
                    lws_log_to_diag);

  // Entry 0 takes plain HTTP and WebSockets without a subprotocol; the named
  // ones share its callback.
  impl->protocol_names.push_back("wkit-http");
  for (const auto& p : config.protocols) impl->protocol_names.push_back(p);
  for (const auto& name : impl->protocol_names) {
    lws_protocols p{};
    p.name = name.c_str();
    p.callback = &Impl::callback;
    p.rx_buffer_size = impl->protocols.empty() || config.protocol_rx_buffer == 0
                           ? config.rx_buffer
                           : config.protocol_rx_buffer;
    impl->protocols.push_back(p);
  }
  impl->protocols.push_back(lws_protocols{});  // terminator

  lws_context_creation_info info{};
  // Strings from impl->config, not the caller's: lws keeps the pointers
  // (the Server header was read from a dead stack frame).
  info.port = impl->config.port;
  info.iface = impl->config.host.empty() ? nullptr : impl->config.host.c_str();
  info.protocols = impl->protocols.data();
  info.user = impl.get();
  info.server_string = impl->config.name.c_str();
  // IPv6 only for an IPv6 address: with it on, lws would listen on IPv4
  // addresses as IPv4-mapped IPv6 ones.
  info.options = ipv6 ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
  // libev's loop, when asked for and present: lws then waits with epoll and
  // services only the sockets that are ready. Its default poll() loop scans
  // every socket on every turn, which at 10,000 peers costs ~1 ms a message.
  void* foreign_loops[1] = {nullptr};
  if (config.libev && (impl->ev = LibEv::load())) {
    foreign_loops[0] = impl->ev->loop_new(0);
    if (foreign_loops[0]) {
      info.options |= LWS_SERVER_OPTION_LIBEV;
      info.foreign_loops = foreign_loops;
      impl->ev_loop = foreign_loops[0];
    }
  }
  info.pt_serv_buf_size = 64 * 1024;
  if (!impl->config.tls_cert.empty()) {
    // Plain http:// or ws:// to a TLS port is answered with a redirect to
    // https://, not dropped: a browser follows it, and a client sees a
    // permanent "redirected (HTTP 301)" instead of retrying a hang-up.
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                    LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT |
                    LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS;
    // HTTP/1.1 only: over TLS lws would offer h2, where our responses
    // (headers named in capitals, bodies written by hand) are protocol
    // errors to a browser (ERR_HTTP2_COMPRESSION_ERROR), and WebSockets
    // need HTTP/1.1 upgrades anyway.
    info.alpn = "http/1.1";
    info.ssl_cert_filepath = impl->config.tls_cert.c_str();
    info.ssl_private_key_filepath = impl->config.tls_key.c_str();
  }
  impl->ctx = lws_create_context(&info);
  if (!impl->ctx && impl->ev_loop) {
    impl->ev->loop_destroy(impl->ev_loop);
    impl->ev_loop = nullptr;
  }
  if (!impl->ctx && !config.tls_cert.empty())
    return Status::Io(
        fmt::format("listen {}: could not start TLS with certificate '{}' and key '{}'",
                    host_port(config.host, config.port), config.tls_cert, config.tls_key));
  if (!impl->ctx)
    return Status::Io(fmt::format("listen {}: libwebsockets could not start the server",
                                  host_port(config.host, config.port)));
  server->impl_ = std::move(impl);
  // Deadlines are checked a few times per auth timeout, at most once a second.
  const double period = std::clamp(config.auth_timeout_s / 5, 0.1, 1.0);
  Impl* inner = server->impl_.get();
  server->every(static_cast<int>(period * 1000), [inner] { inner->sweep(); });
  return server;
}

Server::~Server() {
  if (impl_ && impl_->ctx) {
    lws_context_destroy(impl_->ctx);
    impl_->ctx = nullptr;
  }
  if (impl_ && impl_->ev_loop) {
    for (auto& t : impl_->timers)
      impl_->ev->timer_stop(static_cast<struct ev_loop*>(impl_->ev_loop), &t->ev);
    impl_->ev->loop_destroy(impl_->ev_loop);
  }
}

int Server::port() const {
  return lws_get_vhost_listen_port(lws_get_vhost_by_name(impl_->ctx, "default"));
}

void Server::send(ConnId id, const std::string& data, bool binary) {
  auto it = impl_->conns.find(id);
  if (it == impl_->conns.end()) return;
  Session& s = *impl_->sessions.at(it->second);
  if (s.closing) return;
  if (s.queued_bytes + data.size() + kQueuedOverhead > impl_->config.max_queued) {
    diag::warning("dropping connection {}: more than {} bytes queued to a slow client", id,
                  impl_->config.max_queued);
    close(id, 1008, "too slow");
    return;
  }
  (void)try_send(id, data, binary);
}

bool Server::try_send(ConnId id, const std::string& data, bool binary) {
  auto it = impl_->conns.find(id);
  if (it == impl_->conns.end()) return false;
  Session& s = *impl_->sessions.at(it->second);
  if (s.closing || s.queued_bytes + data.size() + kQueuedOverhead > impl_->config.max_queued)
    return false;
  if (impl_->config.eager_writes && s.established && s.out.empty() &&
      !lws_partial_buffered(it->second)) {
    impl_->write_now(it->second, s, data, binary);
    return true;
  }
  Outgoing m;
  m.binary = binary;
  m.data.reserve(LWS_PRE + data.size());
  m.data.assign(LWS_PRE, '\0');
  m.data += data;
  s.queued_bytes += data.size() + kQueuedOverhead;
  s.out.push_back(std::move(m));
  lws_callback_on_writable(it->second);
  return true;
}

void Server::close(ConnId id, int code, std::string reason) {
  auto it = impl_->conns.find(id);
  if (it == impl_->conns.end()) return;
  impl_->close_ws(it->second, *impl_->sessions.at(it->second), code, std::move(reason));
}

void Server::authenticate(ConnId id) {
  auto it = impl_->conns.find(id);
  if (it != impl_->conns.end()) impl_->authenticate(*impl_->sessions.at(it->second));
}

size_t Server::max_connections() const {
  return impl_->max_connections;
}

size_t Server::max_unauthenticated() const {
  return impl_->max_unauthenticated;
}

bool Server::is_open(ConnId id) const {
  auto it = impl_->conns.find(id);
  return it != impl_->conns.end() && !impl_->sessions.at(it->second)->closing;
}

}  // namespace w::net
