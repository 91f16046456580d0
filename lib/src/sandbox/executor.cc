#include "w/executor.h"

#include <algorithm>
#include <cerrno>
#include <cmath>

#include <fmt/format.h>

#include "group.h"

namespace w::sandbox {

// One per slot process; `queue` holds the tasks sent to it, in order, the
// first being the one it is running (started at `head_started`).
struct Executor::SlotState {
  std::unique_ptr<sandbox::Slot> slot;
  int index = 0;
  std::deque<Task> queue;
  Clock::time_point head_started;
};

Executor::Executor(ExecutorConfig config)
    : config_(std::move(config)),
      groups_(std::make_unique<Groups>(
          [this](int slot, sandbox::Call call, int rc, std::string_view message, int fd) {
            answer(slot, call, rc, message, fd);
          })) {}
Executor::~Executor() = default;

void Executor::answer(int slot, sandbox::Call call, int rc, std::string_view message, int fd) {
  if (slot < 0 || static_cast<size_t>(slot) >= slots_.size()) return;
  auto& s = slots_[static_cast<size_t>(slot)];
  if (!s->slot) return;
  switch (call) {
    case sandbox::Call::kSend:
      s->slot->answer_send(rc, fd);
      break;
    case sandbox::Call::kRecv:
      s->slot->answer_recv(rc, message, fd);
      break;
    case sandbox::Call::kBarrier:
      s->slot->answer_barrier(rc);
      break;
    case sandbox::Call::kNone:
    case sandbox::Call::kLinkNote:
      return;
  }
  // Written now when the socket takes it; poll() writes the rest.
  (void)s->slot->flush();
}

void Executor::set_remote(Remote* remote) {
  groups_->set_remote(remote);
}

void Executor::deliver(const std::string& group, int to, std::string_view body) {
  groups_->deliver(group, to, body);
}

void Executor::member_lost(const std::string& group, int rank) {
  groups_->lost(group, rank);
}

Status Executor::start() {
  W_RETURN_IF_ERROR(sandbox::check_confinement(config_.slot));
  for (int i = 0; i < config_.slots; ++i) {
    auto slot = sandbox::Slot::start(config_.slot, i);
    if (!slot.ok()) return slot.status();
    auto state = std::make_unique<SlotState>();
    state->slot = std::move(*slot);
    state->index = i;
    slots_.push_back(std::move(state));
  }
  return {};
}

int Executor::target_depth() const {
  // Enough queued work to cover ~2 ms of round trips, at least 2 so a slot
  // starts its next task the moment it finishes one.
  if (avg_ms_ < 0) return 2;
  const double want = 2.0 / std::max(avg_ms_, 1e-3);
  return std::clamp(static_cast<int>(std::ceil(want)) + 1, 2, config_.max_depth);
}

bool Executor::can_accept() const {
  if (!pending_.empty() || !pending_members_.empty()) return false;
  const size_t depth = static_cast<size_t>(target_depth());
  for (const auto& s : slots_)
    if (s->slot && s->queue.size() < depth) return true;
  return false;
}

bool Executor::can_accept_group(int size) const {
  if (!pending_.empty() || !pending_members_.empty()) return false;
  int idle = 0;
  for (const auto& s : slots_)
    if (s->slot && s->queue.empty()) ++idle;
  return idle >= size;
}

void Executor::submit(Task task) {
  ++in_flight_;
  if (task.member()) {
    groups_->add(task.group, task.rank, task.size);
    pending_members_.push_back(std::move(task));
  } else {
    pending_.push_back(std::move(task));
  }
  dispatch();
}

void Executor::start_on(SlotState& s, Task task) {
  if (s.queue.empty()) s.head_started = Clock::now();
  if (task.member()) {
    s.slot->queue_member(task.input, task.restore, task.rank, task.size);
    groups_->start(task.group, task.rank, s.index);
  } else {
    s.slot->queue_task(task.input, task.restore);
  }
  s.queue.push_back(std::move(task));
}

void Executor::dispatch() {
  // Members first, each alone on an idle slot; while one waits for a slot,
  // no ordinary task takes a slot that comes free.
  while (!pending_members_.empty()) {
    SlotState* idle = nullptr;
    for (auto& s : slots_)
      if (s->slot && s->queue.empty()) {
        idle = s.get();
        break;
      }
    if (!idle) return;
    Task task = std::move(pending_members_.front());
    pending_members_.pop_front();
    start_on(*idle, std::move(task));
  }
  const size_t depth = static_cast<size_t>(target_depth());
  while (!pending_.empty()) {
    SlotState* best = nullptr;
    for (auto& s : slots_)
      if (s->slot && s->queue.size() < depth && (s->queue.empty() || !s->queue.front().member()) &&
          (!best || s->queue.size() < best->queue.size()))
        best = s.get();
    if (!best) return;
    Task task = std::move(pending_.front());
    pending_.pop_front();
    start_on(*best, std::move(task));
  }
}

Outcome Executor::outcome_of(const SlotState& s) const {
  Outcome out;
  const Task& t = s.queue.front();
  out.id = t.id;
  out.slot = s.index;
  out.group = t.group;
  out.rank = t.rank;
  return out;
}

int Executor::abort_group(const std::string& group) {
  int stopped = 0;
  for (auto it = pending_members_.begin(); it != pending_members_.end();) {
    if (it->group == group) {
      it = pending_members_.erase(it);
      --in_flight_;
      ++stopped;
    } else {
      ++it;
    }
  }
  groups_->erase(group);
  for (auto& s : slots_) {
    if (s->queue.empty() || s->queue.front().group != group || !s->queue.front().member()) continue;
    s->queue.clear();  // a member has nothing queued behind it
    --in_flight_;
    ++stopped;
    s->slot.reset();  // SIGKILL and reap
    auto slot = sandbox::Slot::start(config_.slot, s->index);
    if (!slot.ok()) {
      deferred_ = slot.status().with_context("restart slot");
      continue;
    }
    s->slot = std::move(*slot);
    ++restarts_;
  }
  dispatch();
  return stopped;
}

Status Executor::fail_and_restart(SlotState& s, std::string why, std::vector<Outcome>& done) {
  if (!s.queue.empty()) {
    Outcome out = outcome_of(s);
    out.error = std::move(why);
    out.ms = std::chrono::duration<double, std::milli>(Clock::now() - s.head_started).count();
    if (s.queue.front().member()) groups_->end(out.group, out.rank, true);
    done.push_back(std::move(out));
    --in_flight_;
    s.queue.pop_front();
  }
  // The tasks behind it never ran: they go back to the front of the line.
  while (!s.queue.empty()) {
    pending_.push_front(std::move(s.queue.back()));
    s.queue.pop_back();
  }
  s.slot.reset();
  auto slot = sandbox::Slot::start(config_.slot, s.index);
  if (!slot.ok()) return slot.status().with_context("restart slot");
  s.slot = std::move(*slot);
  ++restarts_;
  dispatch();
  return {};
}

Status Executor::handle_slot(SlotState& s, std::vector<Outcome>& done) {
  std::vector<sandbox::Reply> replies;
  // A slot that breaks the frame protocol (its kernel wrote to the socket,
  // or returned too much) fails the task it runs and is restarted: the
  // worker and its other slots go on.
  auto open = s.slot->read_replies(replies);
  Status violation = open.ok() ? Status() : open.status();
  for (auto& r : replies) {
    if (s.queue.empty()) {
      violation = Status(Code::kFailed, "protocol violation by kernel: an answer without a task");
      break;
    }
    if (r.checkpoint) {
      if (config_.on_checkpoint) config_.on_checkpoint(s.queue.front(), std::move(r.output));
      continue;
    }
    if (r.call != sandbox::Call::kNone) {
      const Task& t = s.queue.front();
      if (!t.member()) {
        violation = Status(Code::kFailed,
                           "protocol violation by kernel: w_send/w_recv from a task not coupled");
        break;
      }
      groups_->call(t.group, t.rank, r);
      continue;
    }
    Outcome out = outcome_of(s);
    out.ok = r.ok;
    out.output = std::move(r.output);
    out.error = std::move(r.error);
    out.ms = r.ms;
    if (s.queue.front().member()) {
      groups_->end(out.group, out.rank, !r.ok);
    } else {
      avg_ms_ = avg_ms_ < 0 ? r.ms : 0.9 * avg_ms_ + 0.1 * r.ms;
    }
    done.push_back(std::move(out));
    --in_flight_;
    s.queue.pop_front();
    s.head_started = Clock::now();
  }
  if (!violation.ok()) return fail_and_restart(s, violation.message(), done);
  if (!*open) return fail_and_restart(s, s.slot->reap(), done);
  return {};
}

int Executor::next_deadline_ms() const {
  int best = groups_->next_deadline_ms();
  if (config_.timeout <= 0) return best;
  const auto now = Clock::now();
  for (const auto& s : slots_) {
    if (!s->slot || s->queue.empty()) continue;
    auto deadline =
        s->head_started + std::chrono::microseconds(static_cast<long long>(config_.timeout * 1e6));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    int ms = static_cast<int>(std::max<long long>(0, left));
    if (best < 0 || ms < best) best = ms;
  }
  return best;
}

void Executor::check_timeouts(std::vector<Outcome>& done, Status& status) {
  if (config_.timeout <= 0) return;
  const auto now = Clock::now();
  for (auto& s : slots_) {
    if (!s->slot || s->queue.empty()) continue;
    const double ran = std::chrono::duration<double>(now - s->head_started).count();
    if (ran < config_.timeout) continue;
    s->slot->reap();  // SIGKILL: a task past its deadline is not waited for
    Status st = fail_and_restart(
        *s, fmt::format("timeout: still running after {:g} s", config_.timeout), done);
    if (!st.ok()) status = st;
  }
}

Status Executor::poll(int wait_ms, std::vector<Outcome>& done, std::span<struct pollfd> extra) {
  if (!deferred_.ok()) return deferred_;
  for (auto& s : slots_)
    if (s->slot) W_RETURN_IF_ERROR(s->slot->flush());
  std::vector<struct pollfd> fds;
  fds.reserve(slots_.size() + extra.size());
  for (auto& s : slots_)
    fds.push_back(
        {s->slot->fd(), static_cast<short>(POLLIN | (s->slot->wants_write() ? POLLOUT : 0)), 0});
  for (auto& e : extra) fds.push_back({e.fd, e.events, 0});

  int deadline = next_deadline_ms();
  if (deadline >= 0 && (wait_ms < 0 || deadline < wait_ms)) wait_ms = deadline;
  int rc = ::poll(fds.data(), fds.size(), wait_ms);
  if (rc < 0 && errno != EINTR) return errno_status("poll", errno);
  if (rc < 0) rc = 0;  // interrupted by a signal: the caller checks its flags

  for (size_t i = 0; i < extra.size(); ++i)
    extra[i].revents = rc > 0 ? fds[slots_.size() + i].revents : short{0};
  Status status;
  for (size_t i = 0; i < slots_.size() && rc > 0; ++i) {
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
      Status st = handle_slot(*slots_[i], done);
      if (!st.ok()) status = st;
    }
  }
  groups_->expire();
  check_timeouts(done, status);
  dispatch();
  return status;
}

}  // namespace w::sandbox
