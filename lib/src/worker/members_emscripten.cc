#include "members_emscripten.h"

#include <emscripten.h>
#include <emscripten/eventloop.h>

#include <algorithm>

#include <fmt/format.h>

#include "browser_host.h"
#include "w/diag.h"

namespace w::worker {
namespace {

using sandbox::Call;

constexpr double kLingerMs = 60000;      // an ended member's link waits this long for its acks
constexpr int kTickMs = 50;              // relay retries and call timeouts
constexpr double kChannelWaitMs = 3000;  // a DataChannel not open by then: the relay
constexpr size_t kChunkMax = 64u << 10;  // bytes per DataChannel message

BrowserMembers* g_members = nullptr;  // the one of this Web Worker

std::string peer_id(const std::string& group, int rank) {
  return fmt::format("{}-r{}", group, rank);
}

}  // namespace

BrowserMembers::BrowserMembers(ResultFn on_result)
    : on_result_(std::move(on_result)),
      groups_([this](int, Call, int rc, std::string_view message, int) {
        if (running_)
          js_member_answer(rc, reinterpret_cast<const uint8_t*>(message.data()), message.size());
      }) {
  groups_.set_remote(this);
  g_members = this;
}

BrowserMembers::~BrowserMembers() {
  if (timer_) emscripten_clear_interval(timer_);
  if (g_members == this) g_members = nullptr;
}

void BrowserMembers::submit(int64_t id, std::string group, int rank, int size, std::string input,
                            std::set<int> browsers) {
  if (!browsers.empty()) browsers_[group] = std::move(browsers);
  groups_.add(group, rank, size);  // messages for it are kept from now on
  waiting_.push_back({id, std::move(group), rank, size, std::move(input)});
  start_next();
}

void BrowserMembers::set_kernel(bool ready, const std::string& why) {
  ready_ = ready;
  if (ready) return start_next();
  if (why.empty() || running_) return;
  while (!waiting_.empty()) {
    current_ = std::move(waiting_.front());
    waiting_.pop_front();
    running_ = true;
    finish(false, why, 0);
  }
}

std::vector<int64_t> BrowserMembers::held() const {
  std::vector<int64_t> ids;
  if (running_) ids.push_back(current_.id);
  for (const Member& m : waiting_) ids.push_back(m.id);
  return ids;
}

void BrowserMembers::start_next() {
  if (running_ || !ready_ || waiting_.empty()) return;
  current_ = std::move(waiting_.front());
  waiting_.pop_front();
  running_ = true;
  started_ = emscripten_get_now();
  schedule_tick();
  if (sig_.empty())
    return finish(false, "the pool has no wsig (wpool serve --sig): members cannot talk", 0);
  groups_.start(current_.group, current_.rank, 0);
  char* err = js_member_start(reinterpret_cast<const uint8_t*>(current_.input.data()),
                              current_.input.size(), current_.rank, current_.size);
  std::string why(err);
  free(err);
  if (!why.empty()) finish(false, why, 0);
}

void BrowserMembers::finish(bool ok, const std::string& bytes, double ms) {
  running_ = false;
  const Member m = std::move(current_);
  current_ = {};
  groups_.end(m.group, m.rank, !ok);
  sandbox::Outcome out;
  out.id = static_cast<uint64_t>(m.id);
  out.ok = ok;
  (ok ? out.output : out.error) = bytes;
  out.ms = ms;
  out.group = m.group;
  out.rank = m.rank;
  on_result_(std::move(out));
  start_next();
}

void BrowserMembers::abort(const std::string& group) {
  for (auto it = waiting_.begin(); it != waiting_.end();)
    it = it->group == group ? waiting_.erase(it) : std::next(it);
  if (running_ && current_.group == group) {
    js_member_stop();
    running_ = false;
    current_ = {};
  }
  groups_.erase(group);
  for (auto it = links_.begin(); it != links_.end();)
    it = it->first.first == group ? links_.erase(it) : std::next(it);
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (std::get<0>(it->first) != group) {
      ++it;
      continue;
    }
    close_channel(it->first, it->second);
    it = channels_.erase(it);
  }
  browsers_.erase(group);
  start_next();
}

void BrowserMembers::clear() {
  if (running_) js_member_stop();
  running_ = ready_ = false;
  current_ = {};
  waiting_.clear();
  links_.clear();
  for (auto& [key, c] : channels_) close_channel(key, c);
  channels_.clear();
  browsers_.clear();
  groups_ = sandbox::Groups([this](int, Call, int rc, std::string_view message, int) {
    if (running_)
      js_member_answer(rc, reinterpret_cast<const uint8_t*>(message.data()), message.size());
  });
  groups_.set_remote(this);
}

void BrowserMembers::on_call(int call, int peer, std::string bytes, int timeout_ms) {
  if (!running_ || call < 1 || call > 3) return;
  sandbox::Reply r;
  r.call = static_cast<Call>(call);
  r.peer = peer;
  r.timeout_ms = timeout_ms;
  r.output = std::move(bytes);
  groups_.call(current_.group, current_.rank, r);
}

void BrowserMembers::on_done(bool ok, std::string bytes, double ms) {
  if (running_) finish(ok, bytes, ms);
}

void BrowserMembers::member_added(const std::string& group, int rank, int) {
  if (sig_.empty()) return;
  auto link = RelayLink::connect(sig_, peer_id(group, rank));
  if (!link.ok()) {
    diag::warning("{}", link.status().message());
    return;  // its sends find no link and pump() reports it lost
  }
  links_[{group, rank}].link = std::move(*link);
  auto b = browsers_.find(group);
  if (b == browsers_.end()) return;  // no other browser: the relay only
  for (int peer : b->second) {
    if (peer == rank) continue;
    Channel& c = channels_[{group, rank, peer}];
    c.asked_at = emscripten_get_now();
    js_dc_open(sig_.c_str(), group.c_str(), rank, peer);
  }
}

void BrowserMembers::member_ended(const std::string& group, int rank, bool failed) {
  auto it = links_.find({group, rank});
  if (it == links_.end()) return drop_channels(group, rank);
  Link& l = it->second;
  if (failed || !l.link) {
    links_.erase(it);  // the others see the circuits close: this member is lost
    drop_channels(group, rank);
    return;
  }
  l.ended = true;
  l.ended_at = emscripten_get_now();
  // The circuits closing later are no loss: tell every peer it talked to.
  for (const std::string& peer : l.link->open_peers()) {
    Status s = l.link->send(peer, sandbox::make_body(sandbox::kBodyFinished, rank, {}));
    if (!s.ok()) diag::warning("{}", s.message());
  }
  for (auto& [key, c] : channels_)
    if (std::get<0>(key) == group && std::get<1>(key) == rank && c.open && !c.closed)
      channel_send(key, sandbox::make_body(sandbox::kBodyFinished, rank, {}));
}

void BrowserMembers::send(const std::string& group, int from, int to, std::string body) {
  auto ch = channels_.find({group, from, to});
  if (ch == channels_.end()) return relay_send(group, from, to, std::move(body));
  Channel& c = ch->second;
  switch (c.route) {
    case Channel::kUndecided:
      c.queued.push_back(std::move(body));
      return;
    case Channel::kChannel:
      if (!c.closed) channel_send(ch->first, body);
      return;  // closed: the peer finished or was lost
    case Channel::kRelay:
      return relay_send(group, from, to, std::move(body));
  }
}

void BrowserMembers::decide(const ChannelKey& key, Channel& c, Channel::Route route) {
  if (c.route != Channel::kUndecided) return;
  c.route = route;
  const auto& [group, from, to] = key;
  if (route == Channel::kRelay && !c.queued.empty())
    diag::info("group {}: rank {} to {} goes by the relay (no DataChannel)", group, from, to);
  std::vector<std::string> queued = std::move(c.queued);
  c.queued.clear();
  for (std::string& body : queued) send(group, from, to, std::move(body));
}

void BrowserMembers::channel_send(const ChannelKey& key, const std::string& body) {
  // A stream of u32 little-endian length | body, in chunks a DataChannel takes.
  std::string frame;
  frame.reserve(4 + body.size());
  for (int i = 0; i < 4; ++i) frame += static_cast<char>((body.size() >> (8 * i)) & 0xff);
  frame += body;
  const auto& [group, from, to] = key;
  if (auto it = channels_.find(key); it != channels_.end()) it->second.unsent += frame.size();
  for (size_t at = 0; at < frame.size(); at += kChunkMax)
    js_dc_send(group.c_str(), from, to, reinterpret_cast<const uint8_t*>(frame.data()) + at,
               std::min(kChunkMax, frame.size() - at));
}

void BrowserMembers::close_channel(const ChannelKey& key, Channel& c) {
  if (c.closed) return;
  c.closed = true;
  js_dc_close(std::get<0>(key).c_str(), std::get<1>(key), std::get<2>(key));
}

void BrowserMembers::drop_channels(const std::string& group, int rank) {
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (std::get<0>(it->first) != group || std::get<1>(it->first) != rank) {
      ++it;
      continue;
    }
    close_channel(it->first, it->second);
    it = channels_.erase(it);
  }
}

void BrowserMembers::on_channel_open(const std::string& group, int rank, int peer) {
  auto it = channels_.find({group, rank, peer});
  if (it == channels_.end() || it->second.closed) return;
  it->second.open = true;
  decide(it->first, it->second, Channel::kChannel);
}

void BrowserMembers::on_channel_data(const std::string& group, int rank, int peer,
                                     std::string_view bytes) {
  auto it = channels_.find({group, rank, peer});
  if (it == channels_.end()) return;
  Channel& c = it->second;
  c.in.append(bytes);
  auto link = links_.find({group, rank});
  const bool ended = link == links_.end() || link->second.ended;
  size_t at = 0;
  while (c.in.size() - at >= 4) {
    const auto* p = reinterpret_cast<const uint8_t*>(c.in.data() + at);
    const size_t len = static_cast<size_t>(p[0]) | static_cast<size_t>(p[1]) << 8 |
                       static_cast<size_t>(p[2]) << 16 | static_cast<size_t>(p[3]) << 24;
    if (c.in.size() - at - 4 < len) break;
    std::string_view body(c.in.data() + at + 4, len);
    at += 4 + len;
    if (!body.empty() && static_cast<uint8_t>(body[0]) == sandbox::kBodyFinished) {
      c.peer_finished = true;
      if (link != links_.end()) link->second.finished.insert(peer);
    } else if (!ended) {
      groups_.deliver(group, rank, body);
    }
  }
  c.in.erase(0, at);
}

void BrowserMembers::on_channel_closed(const std::string& group, int rank, int peer,
                                       const std::string& why) {
  auto it = channels_.find({group, rank, peer});
  if (it == channels_.end() || it->second.closed) return;
  Channel& c = it->second;
  c.closed = true;
  if (!c.open) {
    diag::info("group {}: no DataChannel from rank {} to {}: {}", group, rank, peer, why);
    return decide(it->first, c, Channel::kRelay);
  }
  auto link = links_.find({group, rank});
  const bool finished =
      c.peer_finished || (link != links_.end() && link->second.finished.count(peer));
  if (!finished && link != links_.end() && !link->second.ended) {
    diag::warning("group {}: rank {} was lost (its DataChannel closed: {})", group, peer, why);
    groups_.lost(group, peer);
  }
}

void BrowserMembers::relay_send(const std::string& group, int from, int to, std::string body) {
  auto it = links_.find({group, from});
  if (it == links_.end() || !it->second.link) return;
  Status s = it->second.link->send(peer_id(group, to), std::move(body));
  if (!s.ok()) diag::warning("{}", s.message());
}

void BrowserMembers::on_channel_sent(const std::string& group, int rank, int peer, size_t n) {
  auto it = channels_.find({group, rank, peer});
  if (it == channels_.end()) return;
  it->second.unsent -= std::min(it->second.unsent, n);
  groups_.expire();  // a w_send held on the backlog may go on now
}

// What the relay has not delivered, and what the page holds for the
// member's DataChannels (its w_send waits while this is large).
size_t BrowserMembers::backlog(const std::string& group, int from) const {
  size_t n = 0;
  for (auto it = channels_.lower_bound({group, from, 0});
       it != channels_.end() && std::get<0>(it->first) == group && std::get<1>(it->first) == from;
       ++it)
    if (!it->second.closed) n += it->second.unsent;
  auto link = links_.find({group, from});
  return n + (link == links_.end() || !link->second.link ? 0 : link->second.link->backlog());
}

void BrowserMembers::pump() {
  const double now = emscripten_get_now();
  // The watchdog, as for ordinary tasks: the inner worker is replaced.
  if (running_ && timeout_ms_ > 0 && now - started_ >= static_cast<double>(timeout_ms_)) {
    js_member_stop();
    finish(
        false,
        fmt::format("timeout: still running after {:g} s", static_cast<double>(timeout_ms_) / 1000),
        now - started_);
  }
  for (auto& [key, c] : channels_)
    if (c.route == Channel::kUndecided && now - c.asked_at > kChannelWaitMs)
      decide(key, c, Channel::kRelay);
  for (auto it = links_.begin(); it != links_.end();) {
    const std::string group = it->first.first;
    const int local = it->first.second;
    Link& l = it->second;
    if (l.link) {
      std::vector<RelayLink::Event> events;
      Status s = l.link->pump(events);
      for (auto& e : events) {
        const size_t dash = e.peer.rfind("-r");  // peer ids are "<group>-r<rank>"
        if (dash == std::string::npos || e.peer.compare(0, dash, group) != 0) continue;
        const int rank = std::atoi(e.peer.c_str() + dash + 2);
        if (e.lost) {
          if (!l.finished.count(rank) && !l.ended) {
            diag::warning("group {}: rank {} was lost ({})", group, rank, e.reason);
            groups_.lost(group, rank);
          }
        } else if (!e.data.empty() && static_cast<uint8_t>(e.data[0]) == sandbox::kBodyFinished) {
          l.finished.insert(rank);
        } else if (!l.ended) {
          groups_.deliver(group, local, e.data);
        }
      }
      if (!s.ok()) {
        diag::warning("{}", s.message());
        l.link.reset();
        if (!l.ended) groups_.lost(group, local);
      }
    }
    // An ended member's channels close once their peer finished too (it
    // has read what it needed), or when the link goes.
    bool channels_done = true;
    if (l.ended)
      for (auto& [key, c] : channels_)
        if (std::get<0>(key) == group && std::get<1>(key) == local && !c.closed) {
          if (c.route == Channel::kUndecided)
            channels_done = false;  // its messages wait for the choice
          else if (c.peer_finished || l.finished.count(std::get<2>(key)) || !c.open)
            close_channel(key, c);
          else
            channels_done = false;
        }
    if (l.ended &&
        ((channels_done && (!l.link || l.link->flushed())) || now - l.ended_at > kLingerMs)) {
      drop_channels(group, local);
      it = links_.erase(it);
    } else {
      ++it;
    }
  }
  groups_.expire();
  for (auto it = browsers_.begin(); it != browsers_.end();)  // runs no member here holds
    it = groups_.holds(it->first) ? std::next(it) : browsers_.erase(it);
  if (!running_ && waiting_.empty() && links_.empty() && timer_) {
    emscripten_clear_interval(timer_);
    timer_ = 0;
  }
}

void BrowserMembers::schedule_tick() {
  if (!timer_) timer_ = emscripten_set_interval(tick, kTickMs, this);
}

void BrowserMembers::tick(void* self) {
  static_cast<BrowserMembers*>(self)->pump();
}

}  // namespace w::worker

// Entry points for www/worker.js: the inner worker's calls and results.
extern "C" {
EMSCRIPTEN_KEEPALIVE void w_browser_member_call(int call, int peer, size_t n, int timeout_ms) {
  std::string bytes(n, '\0');
  if (n) js_take_pending(reinterpret_cast<uint8_t*>(bytes.data()));
  if (w::worker::g_members) w::worker::g_members->on_call(call, peer, std::move(bytes), timeout_ms);
}
EMSCRIPTEN_KEEPALIVE void w_browser_dc_open(const char* group, int rank, int peer) {
  if (w::worker::g_members) w::worker::g_members->on_channel_open(group, rank, peer);
}
EMSCRIPTEN_KEEPALIVE void w_browser_dc_data(const char* group, int rank, int peer, size_t n) {
  std::string bytes(n, '\0');
  if (n) js_take_pending(reinterpret_cast<uint8_t*>(bytes.data()));
  if (w::worker::g_members) w::worker::g_members->on_channel_data(group, rank, peer, bytes);
}
EMSCRIPTEN_KEEPALIVE void w_browser_dc_sent(const char* group, int rank, int peer, double n) {
  if (w::worker::g_members)
    w::worker::g_members->on_channel_sent(group, rank, peer, static_cast<size_t>(n));
}
EMSCRIPTEN_KEEPALIVE void w_browser_dc_closed(const char* group, int rank, int peer,
                                              const char* why) {
  if (w::worker::g_members) w::worker::g_members->on_channel_closed(group, rank, peer, why);
}
EMSCRIPTEN_KEEPALIVE void w_browser_member_done(int ok, size_t n, double ms) {
  std::string bytes(n, '\0');
  if (n) js_take_pending(reinterpret_cast<uint8_t*>(bytes.data()));
  if (w::worker::g_members) w::worker::g_members->on_done(ok != 0, std::move(bytes), ms);
}
}
