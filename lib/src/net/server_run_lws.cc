// The server's loop (run), and how it is stopped or reloaded from a signal.
// Busy polling (ServerConfig::busy_poll_us) lives here: after a message the
// loop looks for the next without sleeping for a while, so a client with
// one request at a time does not pay the wake-up of a sleeping server.
#include <chrono>
#include <csignal>

#include "server_lws.h"

namespace w::net {
namespace {

std::atomic<Server*> g_running{nullptr};

constexpr int kEvRunNoWait = 1;  // EVRUN_NOWAIT in <ev.h>
constexpr int kEvRunOnce = 2;    // EVRUN_ONCE

void on_signal(int) {
  if (Server* s = g_running.load()) s->stop();
}

void on_hangup(int) {
  if (Server* s = g_running.load()) s->reload();
}

}  // namespace

void Server::Impl::busy_poll() {
  // Polls without sleeping until nothing came for busy_poll_us; the caller
  // then sleeps in the loop as always. A core's worth of CPU while
  // messages keep coming closer than that, none once they stop.
  const auto window = std::chrono::microseconds(config.busy_poll_us);
  auto last = std::chrono::steady_clock::now();
  uint64_t seen = received;
  while (!stop_requested.load()) {
    run_ev(kEvRunNoWait);
    const auto now = std::chrono::steady_clock::now();
    if (received != seen) {
      seen = received;
      last = now;
    } else if (now - last > window) {
      return;
    }
  }
}

Status Server::run() {
  g_running.store(this);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  struct sigaction old_int {
  }, old_term{}, old_hup{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  struct sigaction hup {};
  hup.sa_handler = on_hangup;
  sigaction(SIGHUP, &hup, &old_hup);
  Status status;
  while (!impl_->stop_requested.load()) {
    // lws_cancel_service() (stop()) wakes either kind of loop.
    if (impl_->ev_loop) {
      if (impl_->config.busy_poll_us > 0) impl_->busy_poll();
      impl_->run_ev(kEvRunOnce);
      continue;
    }
    if (lws_service(impl_->ctx, 0) < 0) {
      status = Status::Io("libwebsockets service loop failed");
      break;
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  g_running.store(nullptr);
  return status;
}

void Server::stop() {
  impl_->stop_requested.store(true);
  if (impl_->ctx) lws_cancel_service(impl_->ctx);
}

void Server::reload() {
  impl_->reload_requested.store(true);
  if (impl_->ctx) lws_cancel_service(impl_->ctx);
}

}  // namespace w::net
