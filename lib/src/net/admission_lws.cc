// Admission: what a connection may cost a server before and after it is
// authenticated (w/net.h, "Admission").
//
// Every accepted connection is counted from its first callback and starts
// unauthenticated, at the back of Impl::unauthenticated (oldest first). The
// handler's Server::authenticate() takes it out of that list for good.
//
//   accept       FILTER_NETWORK_CONNECTION, before lws adopts the socket:
//                at max_unauthenticated unauthenticated, or max_connections
//                in all, the oldest unauthenticated one is closed at once
//                (no close handshake: it has proved nothing); if none is
//                left to close, every place is authenticated and the
//                newcomer is refused: answered 503 (kMaxOverLimit of
//                them at a time, uncounted), or past that hung up on.
//   messages     capped at max_unauthenticated_message until authenticated
//                (receive_ws in server_lws.cc, receive_body in
//                server_http_lws.cc).
//   deadline     sweep(): an unauthenticated WebSocket connected more than
//                auth_timeout_s ago is closed (1008); HTTP connections are
//                bounded by lws's own timeouts and the POST body deadline.
//   idle         sweep(): an authenticated WebSocket that sent nothing for
//                idle_timeout_s is closed (1001).
//
// max_connections stays below the descriptor limit by reserved_fds, so
// accept() never fails with EMFILE: lws would log it and, the listening
// socket still readable, spin.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "server_lws.h"
#include "w/diag.h"

namespace w::net {
namespace {

constexpr size_t kMaxDerivedUnauthenticated = 4096;

std::string seconds(double s) {
  return fmt::format("{:g} s", s);
}

}  // namespace

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

void Server::Impl::set_limits() {
  rlimit fds{};
  getrlimit(RLIMIT_NOFILE, &fds);
  const size_t reserved = config.reserved_fds;
  // An explicit max_connections may need more descriptors than the soft
  // limit: raise it as far as the hard limit lets anyone.
  if (config.max_connections > 0 && fds.rlim_cur != RLIM_INFINITY &&
      config.max_connections + reserved > fds.rlim_cur && fds.rlim_cur < fds.rlim_max) {
    rlimit raised = fds;
    raised.rlim_cur = std::min<rlim_t>(fds.rlim_max, config.max_connections + reserved);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) fds = raised;
  }
  const size_t limit = fds.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : fds.rlim_cur;
  const size_t by_fds = limit > reserved + 1 ? limit - reserved : 1;
  max_connections = config.max_connections > 0 ? std::min(config.max_connections, by_fds) : by_fds;
  if (max_connections < config.max_connections)
    diag::warning("at most {} connections, not {}: the descriptor limit (ulimit -n) is {}",
                  max_connections, config.max_connections, limit);
  max_unauthenticated =
      config.max_unauthenticated > 0
          ? std::min(config.max_unauthenticated, max_connections)
          : std::clamp<size_t>(max_connections / 2, 1, kMaxDerivedUnauthenticated);
}

bool Server::Impl::admit() {
  ServerStats& st = self->stats_;
  next_over_limit = false;
  if (st.connections_now < max_connections && unauthenticated.size() < max_unauthenticated)
    return true;
  if (unauthenticated.empty()) {
    ++st.refused;
    diag::debug("refusing a connection: all {} places are authenticated", max_connections);
    next_over_limit = over_limit < kMaxOverLimit;  // it gets a 503
    return next_over_limit;
  }
  // The oldest unauthenticated connection makes room. Closed at once: it is
  // not the socket being serviced (that is the listening one), and a close
  // handshake would keep its descriptor for seconds.
  lws* victim = unauthenticated.front();
  Session& s = *sessions.at(victim);
  diag::debug("connection {}: closed to make room (unauthenticated, the oldest)", s.id);
  forget(s);
  ++st.evicted;
  lws_set_timeout(victim, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
  return true;
}

void Server::Impl::opened(lws* wsi, Session& s) {
  s.since_us = now_us();
  if (next_over_limit) {
    next_over_limit = false;
    s.over_limit = true;
    ++over_limit;
    return;
  }
  s.waiting = unauthenticated.insert(unauthenticated.end(), wsi);
  ++self->stats_.connections_now;
  ++self->stats_.unauthenticated_now;
}

void Server::Impl::forget(Session& s) {
  if (s.forgotten) return;  // already, when it was evicted
  s.forgotten = true;
  if (s.over_limit) {
    --over_limit;
    return;
  }
  --self->stats_.connections_now;
  if (!s.authenticated) {
    unauthenticated.erase(s.waiting);
    --self->stats_.unauthenticated_now;
  }
}

void Server::Impl::authenticate(Session& s) {
  if (s.authenticated || s.forgotten || s.over_limit) return;
  unauthenticated.erase(s.waiting);
  --self->stats_.unauthenticated_now;
  s.authenticated = true;
  s.since_us = now_us();
}

size_t Server::Impl::message_cap(const Session& s) const {
  return s.authenticated ? config.max_message
                         : std::min(config.max_message, config.max_unauthenticated_message);
}

void Server::Impl::close_ws(lws* wsi, Session& s, int code, std::string reason) {
  s.closing = true;
  s.close_code = code;
  s.close_reason = std::move(reason);
  lws_callback_on_writable(wsi);
}

void Server::Impl::sweep() {
  const int64_t now = now_us();
  const auto deadline = static_cast<int64_t>(config.auth_timeout_s * 1e6);
  // Oldest first: the walk stops at the first one still in time.
  for (lws* wsi : unauthenticated) {
    Session& s = *sessions.at(wsi);
    if (now - s.since_us < deadline) break;
    if (!s.ws_open || s.closing) continue;
    ++self->stats_.auth_timeouts;
    diag::debug("connection {}: not authenticated within {}", s.id, seconds(config.auth_timeout_s));
    close_ws(wsi, s, 1008, "not authenticated within " + seconds(config.auth_timeout_s));
  }
  if (config.idle_timeout_s <= 0) return;
  const auto idle = static_cast<int64_t>(config.idle_timeout_s * 1e6);
  for (auto& [wsi, s] : sessions) {
    if (!s->authenticated || !s->ws_open || s->closing || now - s->since_us < idle) continue;
    ++self->stats_.idle_timeouts;
    diag::debug("connection {}: idle for {}", s->id, seconds(config.idle_timeout_s));
    close_ws(wsi, *s, 1001, "idle for " + seconds(config.idle_timeout_s));
  }
}

}  // namespace w::net
