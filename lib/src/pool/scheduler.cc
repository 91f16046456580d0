// The scheduler's core rules (scheduler.h): which campaign a worker serves
// (priority, then fewest leased), how deep it is kept (prefetch, and its
// share near the end of a campaign), the task window read from the store,
// leases and their deadlines, results and failed attempts.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "scheduler.h"
#include "w/diag.h"

namespace w::pool {
namespace {

constexpr int kLoadBatch = 2048;       // tasks read from the store at a time
constexpr int kSharedLoadBatch = 512;  // most claimed at a time from a shared store
constexpr int kMinClaim = 4;           // least claimed at a time
constexpr int kFirstClaim = 16;        // a campaign's first claim, before its pace is known
// A claim is sized to what this pool's workers take in about this long:
// long enough that claims are few (10,000 one-task workers take 3,000+ a
// second from each of three pools), short enough that a pool holds little
// its workers will not start soon (at the end of a campaign another pool's
// idle workers cannot take what this one claimed).
constexpr auto kClaimWindow = std::chrono::milliseconds(50);
constexpr size_t kLowWater = 512;   // refill the window below this
constexpr int kMaxPrefetch = 4096;  // most tasks outstanding per worker
constexpr auto kLeaseGrace = std::chrono::seconds(5);

}  // namespace

int Scheduler::prefetch(const Worker& w, const Campaign& c) const {
  // Enough tasks in hand to cover ~50 ms of work per slot: tiny tasks need
  // deep queues to hide round trips, long ones shallow so the tail is even.
  if (w.row.flagged) return 0;  // an untrusted worker gets no more than it can run
  // avg_ms is the bound campaign's: another campaign's tasks may be 1000x
  // shorter (no-op tasks before 10 ms ones got a worker all 2,000 of them).
  if (w.avg_ms < 0 || w.campaign != c.row.id) return w.row.slots * 2;
  const double per_slot = std::ceil(50.0 / std::max(w.avg_ms, 0.001));
  int depth = static_cast<int>(std::clamp(per_slot * w.row.slots, static_cast<double>(w.row.slots),
                                          static_cast<double>(kMaxPrefetch)));
  // Near the end no worker holds more than its share of what is left, so
  // the others are not idle while it works through a queue of its own.
  if (!c.replicated()) {
    // Shared among the workers on this campaign (w is one: it is bound).
    const int64_t open = c.row.total - c.row.done - c.row.failed - c.pending;
    const int64_t n = std::max<int64_t>(1, c.bound);
    const int64_t share = (open + n - 1) / n;
    depth = static_cast<int>(std::min<int64_t>(depth, std::max<int64_t>(0, share - w.row.slots)));
  }
  return depth;
}

bool Scheduler::take_task(Campaign& c, TaskRow& task, const Worker* worker, int wanted) {
  if (!c.requeued.empty()) {
    // A task that failed on this worker waits for another, if another may
    // take it (a few are looked at: a long line of them means this worker
    // gets fresh tasks meanwhile).
    int others = -1;  // another_worker_for, asked once
    auto failed_here = [&](const TaskRow& t) {
      if (!worker) return false;
      auto f = c.failed_on.find(t.id);
      if (f == c.failed_on.end() ||
          std::find(f->second.begin(), f->second.end(), worker->row.id) == f->second.end())
        return false;
      if (others < 0) others = another_worker_for(*worker, c) ? 1 : 0;
      return others == 1;
    };
    const size_t look = std::min<size_t>(c.requeued.size(), 64);
    for (size_t i = 0; i < look; ++i) {
      if (failed_here(c.requeued[i])) continue;
      task = std::move(c.requeued[i]);
      c.requeued.erase(c.requeued.begin() + static_cast<std::ptrdiff_t>(i));
      c.last_taken = now_;
      return true;
    }
  }
  // On a shared store the window is claimed, and other pools' workers may
  // not take what this one holds: claim about what the caller takes now,
  // when the window is empty, so a pool holds little more than its
  // workers run (a pool with one slow worker would otherwise sit on a
  // window of tasks while the others' workers idle).
  const bool shared = store_.shared();
  if ((shared ? c.ready.empty() : c.ready.size() < kLowWater) && !c.store_exhausted) {
    int batch = kLoadBatch;
    if (shared) {
      // The last claim went in `ms`: the next is scaled to kClaimWindow,
      // growing at most 4x a time (two claims in one event say little).
      if (c.claim == 0) {
        c.claim = kFirstClaim;
      } else {
        const double ms =
            std::max(1.0, std::chrono::duration<double, std::milli>(now_ - c.claimed_at).count());
        const double next =
            c.claim * std::chrono::duration<double, std::milli>(kClaimWindow).count() / ms;
        c.claim = static_cast<int>(
            std::clamp(next, static_cast<double>(kMinClaim),
                       std::min(4.0 * c.claim, static_cast<double>(kSharedLoadBatch))));
      }
      c.claimed_at = now_;
      batch = std::clamp(wanted, c.claim, kSharedLoadBatch);
    }
    auto more = store_.queued_tasks(c.row.id, c.cursor, batch);
    if (!more.ok()) {
      diag::error("{}", more.status().message());
    } else {
      if (more->size() < static_cast<size_t>(batch)) c.store_exhausted = true;
      if (!more->empty()) c.cursor = more->back().id;
      if (c.replicated()) adopt_votes(c, *more);  // tasks with votes in go to c.open
      for (auto& t : *more) {
        c.cursor = t.id;
        if (t.checkpointed) checkpointed_.insert(t.id);  // by another pool, maybe
        c.ready.push_back(std::move(t));
      }
    }
  }
  if (c.ready.empty()) return false;
  task = std::move(c.ready.front());
  c.ready.pop_front();
  c.last_taken = now_;
  return true;
}

Scheduler::Campaign* Scheduler::pick_campaign(const Worker& w, int64_t skip) {
  // A flagged worker's results are not trusted: it gets no replicas. A
  // browser (wasm32) gets only campaigns that carry a .wasm kernel, and a
  // worker that cannot run members (hello's coupled=false) no coupled ones.
  // A flagged worker gets nothing until `wpool workers unflag`; a
  // quarantined one nothing until its quarantine is over.
  if (w.row.flagged || quarantined(w)) return nullptr;
  auto usable = [&](const Campaign& c) {
    return c.row.state == "running" && c.has_work() && c.row.id != skip &&
           !(w.row.flagged && c.replicated()) && (w.coupled || !c.grouped()) &&
           (w.row.platform != "wasm32" || !c.row.spec.kernel_wasm.empty());
  };
  if (w.campaign) {
    auto it = campaigns_.find(w.campaign);
    if (it != campaigns_.end() && usable(it->second)) return &it->second;
    if (w.busy()) return nullptr;  // finish the old campaign's tasks first
  }
  Campaign* best = nullptr;
  for (auto& [id, c] : campaigns_) {
    if (!usable(c) || !may_work_on(w, c)) continue;
    // Highest priority first; among equals, the one with fewest leased tasks.
    if (!best || c.row.spec.priority > best->row.spec.priority ||
        (c.row.spec.priority == best->row.spec.priority && c.leased < best->leased))
      best = &c;
  }
  return best;
}

void Scheduler::top_up(Worker& w) {
  if (w.draining || w.closing) return;
  Campaign* c = pick_campaign(w);
  // A coupled campaign's runs need free slots of several workers at once.
  if (c && c->grouped()) {
    schedule_groups(*c, group_candidates(*c));
    // While the connected workers have fewer than K slots in all, the run
    // can never start: an idle worker serves another campaign meanwhile.
    if (w.busy() || group_capacity(*c) >= c->row.spec.group) return;
    c = pick_campaign(w, c->row.id);
    if (c && c->grouped()) return;
  }
  if (!c) return;
  const int want = std::min(w.row.slots + prefetch(w, *c), allowance(w, *c)) - w.busy();
  if (want <= 0) return;
  if (send_tasks(w, *c, want) || w.busy()) return;
  if (!c->replicated()) {
    // The campaign only looked like it had work (its tasks had not been read
    // from the store since a restart, and there were none): try the others,
    // now that it no longer looks so.
    if (!c->has_work()) top_up(w);
    return;
  }
  // Every replica this campaign wants now is one this worker already has:
  // let it serve another campaign meanwhile.
  if (Campaign* other = pick_campaign(w, c->row.id)) {
    if (other->grouped())
      schedule_groups(*other, group_candidates(*other));
    else if (int more =
                 std::min(w.row.slots + prefetch(w, *other), allowance(w, *other)) - w.busy();
             more > 0)
      send_tasks(w, *other, more);
  }
}

bool Scheduler::send_tasks(Worker& w, Campaign& c, int want) {
  std::vector<TaskRow> replicas;
  size_t next_replica = 0;
  if (c.replicated()) take_replicas(c, w, want, replicas);
  SendTasks message{c.row.id, {}};
  int sent = 0;
  const auto now = now_;
  const auto timeout = std::chrono::milliseconds(c.row.spec.timeout_ms);
  TaskRow task;
  while (sent < want) {
    if (c.replicated()) {
      if (next_replica == replicas.size()) break;
      task = std::move(replicas[next_replica++]);
    } else if (!take_task(c, task, &w, want - sent)) {
      break;
    }
    TaskGrant item{task.id, task.seq, task.input};
    if (!checkpointed_.empty() && checkpointed_.count(task.id)) {
      auto checkpoint = store_.load_checkpoint(task.id);
      if (checkpoint.ok())
        item.checkpoint = std::move(*checkpoint);
      else
        checkpointed_.erase(task.id);
    }
    message.items.push_back(std::move(item));
    ++sent;
    // The deadline allows for the tasks queued ahead of this one on the worker.
    const auto ahead = static_cast<long>(w.leases.size()) / std::max(1, w.row.slots);
    const int64_t id = task.id;
    w.leases.emplace(id, Lease{std::move(task), now + timeout * (ahead + 1) + kLeaseGrace, now});
    ++c.leased;
  }
  if (sent == 0) return false;
  bind(w, c);
  decide(w.conn, std::move(message));
  return true;
}

void Scheduler::top_up_after(Worker* w) {
  if (poke_all_) {
    poke_all_ = false;
    top_up_all();
    return;  // it speculates
  }
  if (w) top_up(*w);
  speculate(w);  // null (the tick): every worker
}

void Scheduler::top_up_all() {
  poke_all_ = false;
  std::vector<Campaign*> coupled;  // scheduled once each, over all their workers
  for (auto& [id, w] : workers_) {
    Campaign* c = w.draining ? nullptr : pick_campaign(w);
    if (!c || !c->grouped()) {
      top_up(w);
    } else if (std::find(coupled.begin(), coupled.end(), c) == coupled.end()) {
      coupled.push_back(c);
    }
  }
  bool short_of_slots = false;
  for (Campaign* c : coupled) {
    schedule_groups(*c, group_candidates(*c));
    short_of_slots |= group_capacity(*c) < c->row.spec.group;
  }
  if (short_of_slots)
    for (auto& [id, w] : workers_)
      if (!w.busy()) top_up(w);  // idle workers of a group that cannot start: see top_up
  speculate();                   // the slots still idle have nothing else to do
}

void Scheduler::release_leases(Worker& w, const std::string& why) {
  if (w.leases.empty()) return;
  diag::debug("{} tasks of worker {} back to the queue: {}", w.leases.size(), w.row.id, why);
  auto leases = std::move(w.leases);
  w.leases.clear();
  for (auto& [id, lease] : leases) {
    auto it = campaigns_.find(lease.task.campaign);
    if (it != campaigns_.end()) return_lease(it->second, std::move(lease), w.row.id, w.conn);
  }
}

void Scheduler::return_lease(Campaign& c, Lease&& lease, const std::string& worker,
                             net::ConnId conn) {
  // The other copy of a speculated task still runs it: nothing goes back.
  if (!c.replicated() && drop_copy(c, lease.task.id, conn)) return;
  --c.leased;
  ++counters_.requeues_total;
  if (!c.replicated()) return c.requeued.push_front(std::move(lease.task));
  auto it = c.open.find(lease.task.id);
  if (it == c.open.end()) return;
  Replicated& r = it->second;
  std::erase(r.holders, worker);
  if (r.finished) return close_if_done(c, lease.task.id);
  judge_task(c, r, true);
}

void Scheduler::finish_task(Worker& w, int64_t task_id, bool ok, std::string_view output,
                            const std::string& error, double ms) {
  auto lease_it = w.leases.find(task_id);
  if (lease_it == w.leases.end()) {
    // A copy whose other copy decided the task first: ignored, counted.
    if (w.lost.erase(task_id)) ++counters_.speculative_discarded_total;
    return;  // else not this worker's (late, or already re-leased)
  }
  Lease lease = std::move(lease_it->second);
  w.leases.erase(lease_it);
  auto cit = campaigns_.find(lease.task.campaign);
  if (cit == campaigns_.end()) return;
  Campaign& c = cit->second;
  w.avg_ms = w.avg_ms < 0 ? ms : 0.95 * w.avg_ms + 0.05 * ms;
  // Any other write waits for the results batched before it: the store
  // keeps them in the order they came.
  if (c.replicated() || !ok) store_results();
  if (c.replicated()) {
    --c.leased;
    return finish_replica(w, c, task_id, ok, output, error, ms);
  }
  record_outcome(w, c, !ok);
  // A failed copy while the other still runs the task: no attempt counted.
  if (!ok && drop_copy(c, task_id, w.conn)) return;
  --c.leased;
  if (ok) {
    // Its other copies stop now; the result is stored with others
    // (store_results()).
    end_copies(w, c, task_id, lease.copy);
    ++c.pending;
    batch_bytes_ += output.size();
    batch_.push_back(
        {task_id, c.row.id, w.conn, std::string(output), w.row.id, w.row.platform, ms});
    if (batch_.size() >= kMaxBatch || batch_bytes_ >= kMaxBatchBytes) store_results();
    if (c.leased == 0 && c.store_exhausted && c.ready.empty() && c.requeued.empty())
      drained_ = true;
  } else {
    ++w.row.tasks_failed;
    auto final = store_.fail_attempt(task_id, fmt::format("{}: {}", w.row.id, error),
                                     c.row.spec.max_attempts, w.row.id);
    if (!final.ok()) {
      diag::error("{}", final.status().message());
    } else if (*final) {
      ++c.row.failed;
      ++counters_.failures_total;
      c.failed_on.erase(task_id);
      forget_task(task_id);
      diag::warning("task {} of '{}' failed for good after {}", task_id, c.row.spec.name,
                    diag::count(c.row.spec.max_attempts, "attempt"));
    } else {
      ++lease.task.attempts;
      c.failed_on[task_id].push_back(w.row.id);
      poke_all_ = true;  // this worker passes it on: another, maybe idle, must be offered it
      c.requeued.push_back(std::move(lease.task));
    }
  }
}

void Scheduler::store_results() {
  if (batch_.empty()) return;
  std::vector<TaskResult> rows;
  rows.reserve(batch_.size());
  for (const BatchedResult& r : batch_)
    rows.push_back({r.task, r.output, r.worker, r.platform, r.ms});
  auto stored = store_.complete_tasks(rows);
  if (!stored.ok()) {
    // Nothing of the batch is counted; its tasks come back at the next
    // start. (PostgreSQL's transaction is aborted: commit() fails with
    // this and the server stops.)
    diag::error("{}", stored.status().message());
  }
  for (size_t i = 0; i < batch_.size(); ++i) {
    const BatchedResult& r = batch_[i];
    auto cit = campaigns_.find(r.campaign);
    if (cit == campaigns_.end()) continue;
    Campaign& c = cit->second;
    --c.pending;
    if (!stored.ok()) continue;
    if (!(*stored)[i]) {  // a duplicate or late result: the task was done (maybe by another pool)
      ++counters_.results_discarded_total;
      continue;
    }
    ++c.row.done;
    ++counters_.results_total;
    // The worker may have left since (its count was stored as it left).
    if (Worker* w = find_worker(r.conn); w && w->row.id == r.worker) ++w->row.tasks_done;
    c.failed_on.erase(r.task);
    forget_task(r.task);
  }
  batch_.clear();
  batch_bytes_ = 0;
}

void Scheduler::forget_task(int64_t task) {
  if (checkpointed_.empty() || !checkpointed_.erase(task)) return;
  if (Status s = store_.delete_checkpoint(task); !s.ok()) diag::error("{}", s.message());
}

void Scheduler::tick(Clock::time_point now) {
  now_ = now;
  const auto silent = std::chrono::milliseconds(static_cast<long>(worker_timeout_ * 1000));
  std::vector<net::ConnId> gone;
  for (auto& [id, w] : workers_) {
    if (now - w.last_heard > silent) {
      gone.push_back(id);
      continue;
    }
    if (!w.lost.empty()) expire_lost(w);
    std::vector<int64_t> expired;
    for (auto& [task, lease] : w.leases)
      if (lease.deadline < now) expired.push_back(task);
    for (int64_t task : expired) {
      auto lease = w.leases.find(task);
      if (lease == w.leases.end()) continue;  // revoked meanwhile (its worker was flagged)
      auto c = campaigns_.find(lease->second.task.campaign);
      const int64_t timeout_ms = c == campaigns_.end() ? 0 : c->second.row.spec.timeout_ms;
      finish_task(w, task, false, {},
                  fmt::format("lease expired: no result within {} ms", timeout_ms), 0);
    }
  }
  for (net::ConnId id : gone) {
    diag::warning("worker {} silent for {:g} s: dropping it", workers_.at(id).row.id,
                  worker_timeout_);
    workers_.at(id).closing = true;
    decide(id, CloseConn{1001, "silent too long"});
    release_members(workers_.at(id),
                    fmt::format("worker lost (silent for {:g} s)", worker_timeout_), true);
    release_leases(workers_.at(id), "worker silent");
  }
  check_group_deadlines();
  check_starved(now);
  end_quarantines(now);
  // Smoothed completion rate per campaign, for status and ETA.
  for (auto& [id, c] : campaigns_) {
    const double rate = static_cast<double>(c.row.done + c.row.failed - c.done_last_tick) / 0.25;
    c.done_rate = c.done_rate == 0 ? rate : 0.9 * c.done_rate + 0.1 * rate;
    c.done_last_tick = c.row.done + c.row.failed;
  }
  if (!gone.empty()) poke_all_ = true;
  top_up_after(nullptr);
}

}  // namespace w::pool
