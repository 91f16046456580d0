// The server's timers (every, after) and how they fire: on libwebsockets'
// own sorted list, or as ev_timers when the server runs on a libev loop.
// schedule() stays in server_lws.cc beside the libev functions it calls.
#include "server_lws.h"

namespace w::net {

void Server::Impl::timer_fired(lws_sorted_usec_list_t* sul) {
  Timer* t = reinterpret_cast<Timer::Sul*>(sul)->owner;
  t->impl->fire(t);
}

void Server::Impl::ev_timer_fired(struct ev_loop*, ev_timer* w, int) {
  Timer* t = static_cast<Timer*>(w->data);
  t->impl->fire(t);
}

void Server::Impl::fire(Timer* t) {
  if (t->period > 0) {
    t->fn();  // an ev_timer repeats by itself
    if (!ev_loop) lws_sul_schedule(ctx, 0, &t->sul.sul, timer_fired, t->period);
    return;
  }
  // One-shot: run it, then free it (fn may schedule new timers).
  std::function<void()> fn = std::move(t->fn);
  for (auto it = timers.begin(); it != timers.end(); ++it)
    if (it->get() == t) {
      timers.erase(it);
      break;
    }
  fn();
}

void Server::every(int ms, std::function<void()> fn) {
  auto t = std::make_unique<Impl::Timer>();
  t->fn = std::move(fn);
  t->period = static_cast<lws_usec_t>(ms) * LWS_US_PER_MS;
  const lws_usec_t first = t->period;
  impl_->schedule(std::move(t), first);
}

void Server::after(int ms, std::function<void()> fn) {
  auto t = std::make_unique<Impl::Timer>();
  t->fn = std::move(fn);
  impl_->schedule(std::move(t), static_cast<lws_usec_t>(ms) * LWS_US_PER_MS);
}

}  // namespace w::net
