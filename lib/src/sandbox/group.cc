#include "group.h"

#include <algorithm>

#include "frame.h"

#include "w_kernel.h"

namespace w::sandbox {
namespace {

using sandbox::Call;

// A sender is held (its w_send not answered) while the receiver has more
// than this many of its bytes unread: memory stays bounded per pair.
constexpr size_t kBacklog = 32u << 20;

uint32_t get_u32(std::string_view b, size_t at) {
  const auto* p = reinterpret_cast<const uint8_t*>(b.data() + at);
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// link_body_allowed() on a body's kind, sender and message length.
bool allowed_on_link(uint8_t kind, uint32_t from, size_t message, int peer) {
  if (from != static_cast<uint32_t>(peer)) return false;
  return kind == kBodyMessage || (message == 0 && (kind == kBodyBarrier || kind == kBodyFinished));
}

}  // namespace

std::string make_body(BodyKind kind, int from, std::string_view message) {
  std::string b;
  b.reserve(5 + message.size());
  b += static_cast<char>(kind);
  const auto f = static_cast<uint32_t>(from);
  for (int i = 0; i < 4; ++i) b += static_cast<char>((f >> (8 * i)) & 0xff);
  b.append(message);
  return b;
}

int decode_link_head(std::string_view in, int peer, size_t max_message, LinkHead& head) {
  if (in.size() < kLinkHead) return 0;
  const uint32_t length = get_u32(in, 0);
  const auto kind = static_cast<uint8_t>(in[4]);
  if (length < 5 || length - 5 > max_message ||
      !allowed_on_link(kind, get_u32(in, 5), length - 5, peer))
    return -1;
  head.kind = static_cast<BodyKind>(kind);
  head.message = length - 5;
  return 1;
}

bool link_body_allowed(std::string_view body, int peer) {
  return body.size() >= 5 &&
         allowed_on_link(static_cast<uint8_t>(body[0]), get_u32(body, 1), body.size() - 5, peer);
}

void Groups::add(const std::string& group, int rank, int size) {
  Run& run = runs_[group];
  if (run.size == 0) run.size = size;
  run.name = group;
  Member& m = run.members[rank];
  const auto k = static_cast<size_t>(run.size);
  m.inbox.resize(k);
  m.inbox_bytes.assign(k, 0);
  m.tokens.assign(k, 0);
  m.route.assign(k, 0);
  if (remote_) remote_->member_added(group, rank, size);
}

void Groups::start(const std::string& group, int rank, int slot) {
  auto it = runs_.find(group);
  if (it == runs_.end()) return;
  auto m = it->second.members.find(rank);
  if (m != it->second.members.end()) m->second.slot = slot;
}

void Groups::end(const std::string& group, int rank, bool failed) {
  auto it = runs_.find(group);
  if (it == runs_.end()) return;
  Run& run = it->second;
  auto m = run.members.find(rank);
  if (m == run.members.end() || m->second.ended) return;
  m->second.ended = true;
  m->second.slot = -1;
  m->second.waiting = Call::kNone;
  for (auto& q : m->second.inbox) q.clear();
  if (failed) break_run(run);
  // Whoever it held back may go on: it reads no more.
  for (auto& [rank2, other] : run.members)
    if (other.held_send_to == rank) release_sender(run, rank, rank2);
  if (remote_) remote_->member_ended(group, rank, failed);
  if (std::all_of(run.members.begin(), run.members.end(),
                  [](const auto& kv) { return kv.second.ended; }))
    runs_.erase(it);
}

void Groups::erase(const std::string& group) {
  auto it = runs_.find(group);
  if (it == runs_.end()) return;
  if (remote_)
    for (auto& [rank, m] : it->second.members)
      if (!m.ended) remote_->member_ended(group, rank, true);
  runs_.erase(it);
}

void Groups::break_run(Run& run) {
  if (run.broken) return;
  run.broken = true;
  if (remote_) remote_->broken(run.name);
  for (auto& [rank, m] : run.members)
    if (!m.ended && m.waiting != Call::kNone) answer(m, m.waiting, W_EGROUP);
  for (auto& [rank, m] : run.members)
    if (!m.ended && (m.held_send_to >= 0 || m.held_remote)) {
      m.held_send_to = -1;
      m.held_remote = false;
      answer(m, Call::kSend, W_EGROUP);
    }
}

void Groups::lost(const std::string& group, int) {
  auto it = runs_.find(group);
  if (it != runs_.end()) break_run(it->second);
}

void Groups::answer(Member& m, Call call, int rc, std::string_view message, int fd) {
  if (m.waiting == call) m.waiting = Call::kNone;
  m.has_deadline = false;
  if (m.slot >= 0) answer_(m.slot, call, rc, message, fd);
}

bool Groups::hand_reader(Run& run, int rank, Member& m, int from) {
  if (!remote_ || run.broken || run.members.count(from) ||
      !m.inbox[static_cast<size_t>(from)].empty())
    return false;
  const int fd = remote_->take_reader(run.name, rank, from);
  if (fd < 0) return false;
  answer(m, Call::kRecv, kHandover, {}, fd);
  return true;
}

void Groups::wait(Member& m, Call call, int from, int timeout_ms) {
  m.waiting = call;
  m.waiting_from = from;
  m.has_deadline = timeout_ms >= 0;
  if (m.has_deadline) m.deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
}

bool Groups::barrier_reached(const Run& run, int rank, const Member& m) const {
  for (int j = 0; j < run.size; ++j)
    if (j != rank && m.tokens[static_cast<size_t>(j)] < m.barrier_entered) return false;
  return true;
}

void Groups::release_sender(Run& run, int reader_rank, int sender) {
  auto s = run.members.find(sender);
  if (s == run.members.end() || s->second.ended || s->second.held_send_to != reader_rank) return;
  auto r = run.members.find(reader_rank);
  const bool gone = r == run.members.end() || r->second.ended;
  if (!gone && r->second.inbox_bytes[static_cast<size_t>(sender)] > kBacklog) return;
  s->second.held_send_to = -1;
  answer(s->second, Call::kSend, 0);
}

void Groups::progress(Run& run, int rank, Member& m) {
  if (m.ended) return;
  if (m.waiting == Call::kRecv) {
    auto& q = m.inbox[static_cast<size_t>(m.waiting_from)];
    if (!q.empty()) {
      std::string msg = std::move(q.front());
      q.pop_front();
      const int from = m.waiting_from;
      m.inbox_bytes[static_cast<size_t>(from)] -= msg.size();
      answer(m, Call::kRecv, 0, msg);
      release_sender(run, rank, from);
    } else if (run.broken) {
      answer(m, Call::kRecv, W_EGROUP);
    }
  } else if (m.waiting == Call::kBarrier) {
    if (barrier_reached(run, rank, m)) {
      m.barrier_left = m.barrier_entered;
      answer(m, Call::kBarrier, 0);
    } else if (run.broken) {
      answer(m, Call::kBarrier, W_EGROUP);
    }
  }
}

void Groups::put(Run& run, int from, int to, BodyKind kind, std::string message) {
  auto it = run.members.find(to);
  if (it == run.members.end() || it->second.ended) return;  // nobody reads it any more
  Member& m = it->second;
  const auto f = static_cast<size_t>(from);
  if (kind == kBodyBarrier) {
    ++m.tokens[f];
  } else {
    m.inbox_bytes[f] += message.size();
    m.inbox[f].push_back(std::move(message));
  }
  progress(run, to, m);
}

bool Groups::route(const std::string& group, Run& run, int from, Member& m, int to, BodyKind kind,
                   std::string message) {
  char& r = m.route[static_cast<size_t>(to)];
  if (r == 0) r = run.members.count(to) ? 1 : 2;
  if (r == 1) {
    put(run, from, to, kind, std::move(message));
    return true;
  }
  if (!remote_) return false;
  remote_->send(group, from, to, make_body(kind, from, message));
  return true;
}

void Groups::call(const std::string& group, int rank, const sandbox::Reply& r) {
  auto it = runs_.find(group);
  if (it == runs_.end()) return;
  Run& run = it->second;
  auto mit = run.members.find(rank);
  if (mit == run.members.end() || mit->second.ended) return;
  Member& m = mit->second;
  const bool valid_peer = r.peer >= 0 && r.peer < run.size && r.peer != rank;
  switch (r.call) {
    case Call::kSend: {
      if (!valid_peer) return answer(m, Call::kSend, W_ERANK);
      if (run.broken) return answer(m, Call::kSend, W_EGROUP);
      const int to = r.peer;
      if (remote_ && !run.members.count(to)) {
        // The member writes to `to` itself from now on, this message first.
        const int fd = remote_->take_writer(group, rank, to);
        if (fd >= 0) return answer(m, Call::kSend, kHandover, {}, fd);
      }
      if (!route(group, run, rank, m, to, kBodyMessage, r.output))
        return answer(m, Call::kSend, W_EGROUP);
      auto dest = run.members.find(to);
      if (m.route[static_cast<size_t>(to)] == 1 && dest != run.members.end() &&
          !dest->second.ended && dest->second.inbox_bytes[static_cast<size_t>(rank)] > kBacklog) {
        m.held_send_to = to;  // answered by release_sender
        return;
      }
      if (m.route[static_cast<size_t>(to)] == 2 && remote_->backlog(group, rank) > kBacklog) {
        m.held_remote = true;  // answered by expire() once the backlog is down
        return;
      }
      return answer(m, Call::kSend, 0);
    }
    case Call::kRecv:
      if (!valid_peer) return answer(m, Call::kRecv, W_ERANK);
      wait(m, Call::kRecv, r.peer, r.timeout_ms);
      progress(run, rank, m);
      if (m.waiting == Call::kRecv && hand_reader(run, rank, m, r.peer)) return;
      if (m.waiting == Call::kRecv && r.timeout_ms == 0) answer(m, Call::kRecv, W_ETIMEOUT);
      return;
    case Call::kLinkNote:
      if (!valid_peer) return;
      if (r.note == kLinkNoteBarrier) return put(run, r.peer, rank, kBodyBarrier, {});
      if (remote_) remote_->link_note(group, rank, r.peer, r.note == kLinkNoteFinished);
      return;
    case Call::kBarrier:
      if (run.broken) return answer(m, Call::kBarrier, W_EGROUP);
      if (m.barrier_entered == m.barrier_left) {
        ++m.barrier_entered;
        for (int j = 0; j < run.size; ++j)
          if (j != rank && !route(group, run, rank, m, j, kBodyBarrier, {}))
            return answer(m, Call::kBarrier, W_EGROUP);
      }
      wait(m, Call::kBarrier, 0, r.timeout_ms);
      progress(run, rank, m);
      if (m.waiting == Call::kBarrier && r.timeout_ms == 0) answer(m, Call::kBarrier, W_ETIMEOUT);
      return;
    case Call::kNone:
      return;
  }
}

void Groups::deliver(const std::string& group, int to, std::string_view body) {
  auto it = runs_.find(group);
  if (it == runs_.end() || body.size() < 5) return;
  Run& run = it->second;
  const auto kind = static_cast<BodyKind>(static_cast<uint8_t>(body[0]));
  const int from = static_cast<int>(get_u32(body, 1));
  if (from < 0 || from >= run.size || from == to) return;
  if (kind != kBodyMessage && kind != kBodyBarrier) return;
  put(run, from, to, kind, std::string(body.substr(5)));
}

int Groups::next_deadline_ms() const {
  int best = -1;
  const auto now = Clock::now();
  for (const auto& [g, run] : runs_)
    for (const auto& [rank, m] : run.members) {
      if (m.waiting == Call::kNone || !m.has_deadline) continue;
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(m.deadline - now).count() + 1;
      int ms = static_cast<int>(std::max<long long>(0, left));
      if (best < 0 || ms < best) best = ms;
    }
  return best;
}

void Groups::expire() {
  const auto now = Clock::now();
  for (auto& [g, run] : runs_)
    for (auto& [rank, m] : run.members) {
      if (m.waiting != Call::kNone && m.has_deadline && m.deadline <= now)
        answer(m, m.waiting, W_ETIMEOUT);
      if (m.held_remote && remote_ && remote_->backlog(g, rank) <= kBacklog) {
        m.held_remote = false;
        answer(m, Call::kSend, 0);
      }
    }
}

}  // namespace w::sandbox
