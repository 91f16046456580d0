#include "members_emscripten.h"

#include <emscripten.h>
#include <emscripten/eventloop.h>

#include <cmath>

#include <fmt/format.h>

#include "w/diag.h"
#include "w/msgpack.h"

// The JavaScript side (www/worker.js, self.wkitHost).
// clang-format off (C++ formatting would split JavaScript operators)
// Starts the member in the inner worker; "" or why it cannot run here.
EM_JS(char*, js_member_start, (const uint8_t* input, size_t n, int rank, int size), {
  const err = self.wkitHost.memberStart(HEAPU8.slice(input, input + n), rank, size);
  const len = lengthBytesUTF8(err) + 1;
  const p = _malloc(len);
  stringToUTF8(err, p, len);
  return p;
});
EM_JS(void, js_member_answer, (int rc, const uint8_t* msg, size_t n),
      { self.wkitHost.memberAnswer(rc, n ? HEAPU8.subarray(msg, msg + n) : null); });
EM_JS(void, js_member_stop, (), { self.wkitHost.memberStop(); });
// The bytes of the inner worker's call or result being handled.
EM_JS(void, js_take_pending, (uint8_t * p), { self.wkitHost.takePending(HEAPU8, p); });
// clang-format on

namespace w::worker {
namespace {

using sandbox::Call;

constexpr double kLingerMs = 60000;  // an ended member's link waits this long for its acks
constexpr int kTickMs = 50;          // relay retries and call timeouts

BrowserMembers* g_members = nullptr;  // the one of this Web Worker

std::string peer_id(const std::string& group, int rank) {
  return fmt::format("{}-r{}", group, rank);
}

}  // namespace

BrowserMembers::BrowserMembers(ResultFn on_result)
    : on_result_(std::move(on_result)),
      groups_([this](int, Call, int rc, std::string_view message) {
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

void BrowserMembers::submit(int64_t id, std::string group, int rank, int size, std::string input) {
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
  mp::MapBuilder item;
  item.integer("task", m.id)
      .real("ms", std::round(ms * 1000) / 1000)
      .integer("rank", m.rank)
      .str("group", m.group);
  if (ok && (bytes.empty() || mp::is_one_object(bytes)))
    item.raw("output", bytes);
  else
    item.str("error", ok ? "kernel output is not one msgpack object" : bytes);
  on_result_(item.done(), ok);
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
  start_next();
}

void BrowserMembers::clear() {
  if (running_) js_member_stop();
  running_ = ready_ = false;
  current_ = {};
  waiting_.clear();
  links_.clear();
  groups_ = Groups([this](int, Call, int rc, std::string_view message) {
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
}

void BrowserMembers::member_ended(const std::string& group, int rank, bool failed) {
  auto it = links_.find({group, rank});
  if (it == links_.end()) return;
  Link& l = it->second;
  if (failed || !l.link) {
    links_.erase(it);  // the others see the circuits close: this member is lost
    return;
  }
  l.ended = true;
  l.ended_at = emscripten_get_now();
  // The circuits closing later are no loss: tell every peer it talked to.
  for (const std::string& peer : l.link->open_peers()) {
    Status s = l.link->send(peer, make_body(kBodyFinished, rank, {}));
    if (!s.ok()) diag::warning("{}", s.message());
  }
}

void BrowserMembers::send(const std::string& group, int from, int to, std::string body) {
  auto it = links_.find({group, from});
  if (it == links_.end() || !it->second.link) return;
  Status s = it->second.link->send(peer_id(group, to), std::move(body));
  if (!s.ok()) diag::warning("{}", s.message());
}

size_t BrowserMembers::backlog(const std::string& group, int from) const {
  auto it = links_.find({group, from});
  return it == links_.end() || !it->second.link ? 0 : it->second.link->backlog();
}

void BrowserMembers::pump() {
  const double now = emscripten_get_now();
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
        } else if (!e.data.empty() && static_cast<uint8_t>(e.data[0]) == kBodyFinished) {
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
    if (l.ended && (!l.link || l.link->flushed() || now - l.ended_at > kLingerMs))
      it = links_.erase(it);
    else
      ++it;
  }
  groups_.expire();
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
EMSCRIPTEN_KEEPALIVE void w_browser_member_done(int ok, size_t n, double ms) {
  std::string bytes(n, '\0');
  if (n) js_take_pending(reinterpret_cast<uint8_t*>(bytes.data()));
  if (w::worker::g_members) w::worker::g_members->on_done(ok != 0, std::move(bytes), ms);
}
}
