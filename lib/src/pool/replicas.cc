// Replicated campaigns: each task goes to `replicas` different workers, the
// results are judged (quorum.h), and workers that disagree with an accepted
// value are flagged.
//
// A task enters Campaign::open when its first replica is handed out (or
// when it is loaded from the store with votes already in, after a restart)
// and leaves once it is finished and no replica of it is still out; late
// replicas are compared with the accepted value too. `want` says how many
// more replicas it needs now; Campaign::wanting lists the tasks that need
// some, oldest first, and is what workers take from before new tasks. A
// worker never gets a task it holds or has voted on, and a flagged worker
// gets no replicas at all: its votes no longer count toward any quorum,
// including votes it gave before it was flagged.
#include <algorithm>
#include <cmath>

#include <set>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "scheduler.h"
#include "w/diag.h"

namespace w::pool {
namespace {

// Most open tasks per campaign: bounds memory when one worker runs ahead of
// the others (its first replicas wait for a second worker).
constexpr size_t kMaxOpen = 4096;

// How long a task no worker here can give its next replica waits for one
// before it goes to another pool (a shared store; timeout_ms if shorter).
constexpr auto kHandBack = std::chrono::seconds(1);

// Disagreements that each halve a worker's score; later ones leave it be.
constexpr int kMaxPenalties = 10;

bool has_part(const std::vector<std::string>& holders, const std::vector<Vote>& votes,
              const std::string& worker) {
  for (const auto& h : holders)
    if (h == worker) return true;
  for (const auto& v : votes)
    if (v.worker == worker) return true;
  return false;
}

}  // namespace

QuorumRule Scheduler::quorum_rule(const Campaign& c) const {
  return {c.row.spec.replicas, c.row.spec.quorum, c.row.spec.replicas + c.row.spec.max_attempts,
          c.row.spec.quorum_tolerance};
}

int64_t Scheduler::in_flight(const Campaign& c) const {
  if (!c.replicated()) return c.leased;
  int64_t n = 0;
  for (const auto& [id, r] : c.open) n += r.finished ? 0 : 1;
  return n;
}

Scheduler::Worker* Scheduler::live_worker(const std::string& id) {
  for (auto& [conn, w] : workers_)
    if (w.row.id == id) return &w;
  return nullptr;
}

Status Scheduler::load_flagged() {
  auto ids = store_.flagged_workers();
  if (!ids.ok()) return ids.status();
  flagged_ = std::unordered_set<std::string>(ids->begin(), ids->end());
  return {};
}

void Scheduler::restore_worker(WorkerRow& row) {
  auto known = store_.worker(row.id);
  if (!known.ok()) return;
  row.tasks_done = known->tasks_done;
  row.tasks_failed = known->tasks_failed;
  row.flagged = known->flagged;
  row.disagreements = known->disagreements;
  // hello carries the machine's benchmark; each disagreement halves it.
  row.score *= std::pow(0.5, std::min(row.disagreements, kMaxPenalties));
}

void Scheduler::take_replicas(Campaign& c, const Worker& w, int want, std::vector<TaskRow>& out) {
  if (w.row.flagged) return;
  // One pass over the wanted replicas, keeping the order of what stays.
  auto take_wanted = [&] {
    std::deque<int64_t> keep;
    size_t i = 0;
    for (; i < c.wanting.size() && static_cast<int>(out.size()) < want; ++i) {
      auto it = c.open.find(c.wanting[i]);
      if (it == c.open.end()) continue;
      Replicated& r = it->second;
      if (!r.finished && r.want > 0 && !has_part(r.holders, r.votes, w.row.id)) {
        r.holders.push_back(w.row.id);
        --r.want;
        out.push_back(r.task);
      }
      if (!r.finished && r.want > 0)
        keep.push_back(c.wanting[i]);
      else
        r.in_wanting = false;
    }
    for (; i < c.wanting.size(); ++i) keep.push_back(c.wanting[i]);
    c.wanting.swap(keep);
  };
  take_wanted();
  // Then new tasks, as long as the open set stays bounded.
  const size_t wanted_before = c.wanting.size();
  TaskRow task;
  while (static_cast<int>(out.size()) < want && c.open.size() < kMaxOpen &&
         take_task(c, task, nullptr, want - static_cast<int>(out.size()))) {
    Replicated& r = c.open[task.id];
    r.task = task;
    r.holders.push_back(w.row.id);
    out.push_back(std::move(task));
    judge_task(c, r, false);
  }
  // Tasks claimed with votes in (another pool's workers voted) want
  // replicas now: this worker may be the one to give them.
  if (c.wanting.size() > wanted_before) take_wanted();
}

void Scheduler::adopt_votes(Campaign& c, std::vector<TaskRow>& loaded) {
  if (loaded.empty()) return;
  auto votes = store_.votes(c.row.id, loaded.front().id, loaded.back().id);
  if (!votes.ok()) return diag::error("{}", votes.status().message());
  if (votes->empty()) return;
  std::unordered_map<int64_t, std::vector<VoteRow*>> by_task;
  for (VoteRow& v : *votes) by_task[v.task].push_back(&v);
  std::vector<TaskRow> fresh;
  for (TaskRow& t : loaded) {
    auto it = by_task.find(t.id);
    if (it == by_task.end()) {
      fresh.push_back(std::move(t));
      continue;
    }
    const int64_t id = t.id;
    Replicated& r = c.open[id];
    r.task = std::move(t);
    for (VoteRow* v : it->second)
      r.votes.push_back({v->worker, v->platform, v->output, canonical_msgpack(v->output), v->ms,
                         !flagged_.count(v->worker)});
    judge_task(c, r, false);
  }
  loaded.swap(fresh);
}

void Scheduler::finish_replica(Worker& w, Campaign& c, int64_t task, bool ok,
                               std::string_view output, const std::string& error, double ms) {
  auto it = c.open.find(task);
  if (it == c.open.end()) return;
  Replicated& r = it->second;
  std::erase(r.holders, w.row.id);
  if (r.finished) {
    // A late replica: the task was decided without it, but it is judged.
    const Vote late{w.row.id, w.row.platform, {}, ok ? canonical_msgpack(output) : "", ms};
    if (!ok)
      ++w.row.tasks_failed;
    else if (r.has_accepted && disagrees(late, r.accepted, quorum_rule(c)))
      flag(w.row.id, c, task, output, r.accepted.canon);
    else
      ++w.row.tasks_done;
    return close_if_done(c, task);
  }
  record_outcome(w, c, !ok);
  if (!ok) {
    ++w.row.tasks_failed;
    auto final = store_.fail_attempt(task, fmt::format("{}: {}", w.row.id, error),
                                     c.row.spec.max_attempts, w.row.id);
    if (!final.ok()) return diag::error("{}", final.status().message());
    if (!*final) {
      ++r.task.attempts;
      return judge_task(c, r, true);
    }
    ++c.row.failed;
    ++counters_.failures_total;
    diag::warning("task {} of '{}' failed for good after {}", task, c.row.spec.name,
                  diag::count(c.row.spec.max_attempts, "attempt"));
    return end_task(c, r);
  }
  VoteRow row{task, w.row.id, w.row.platform, std::string(output), ms};
  if (Status s = store_.add_vote(c.row.id, row); !s.ok()) diag::error("{}", s.message());
  r.votes.push_back({w.row.id, w.row.platform, std::move(row.output), canonical_msgpack(output), ms,
                     !flagged_.count(w.row.id)});
  ++counters_.votes_total;
  judge_task(c, r, false);
}

void Scheduler::judge_task(Campaign& c, Replicated& r, bool urgent) {
  Verdict v = judge(r.votes, static_cast<int>(r.holders.size()), quorum_rule(c));
  const int64_t id = r.task.id;
  if (v.kind == Verdict::kWait) {
    r.want = v.wanted;
    if (r.want > 0 && !r.in_wanting) {
      // A replica lost or failed goes first: its task is the oldest.
      urgent ? c.wanting.push_front(id) : c.wanting.push_back(id);
      r.in_wanting = true;
    }
    if (r.want > 0) poke_all_ = true;
    return;
  }
  if (v.kind == Verdict::kFail) {
    auto stored = store_.fail_attempt(id, v.why, 0, "");
    if (!stored.ok()) diag::error("{}", stored.status().message());
    ++c.row.failed;
    ++counters_.failures_total;
    ++counters_.no_quorum_total;
    diag::warning("task {} of '{}' failed: {}", id, c.row.spec.name, v.why);
    return end_task(c, r);
  }
  const Vote& a = r.votes[static_cast<size_t>(v.accepted)];
  auto stored = store_.complete_task(id, a.output, a.worker, a.platform, a.ms);
  if (!stored.ok()) diag::error("{}", stored.status().message());
  if (stored.ok() && *stored) {
    ++c.row.done;
    ++counters_.results_total;
  }
  r.has_accepted = true;
  r.accepted = a;
  r.accepted.output.clear();  // stored; only the canonical form is compared
  r.finished = true;          // before flag(): its votes are settled
  // A vote of another platform (without a tolerance) is neither: it could
  // not be compared, so it is neither counted nor held against its worker.
  const QuorumRule rule = quorum_rule(c);
  std::vector<const Vote*> disagreed;
  for (const Vote& vote : r.votes) {
    if (agree(vote, r.accepted, rule)) {
      if (Worker* w = live_worker(vote.worker)) ++w->row.tasks_done;
    } else if (disagrees(vote, r.accepted, rule)) {
      disagreed.push_back(&vote);
    }
  }
  // flag() may judge other tasks again, never this finished one: its votes stay put.
  for (const Vote* vote : disagreed) flag(vote->worker, c, id, vote->output, r.accepted.canon);
  end_task(c, id);
}

void Scheduler::check_starved(Clock::time_point now) {
  int64_t others = -1;  // other live pools sharing the store, asked once a tick at most
  for (auto& [cid, c] : campaigns_) {
    if (!c.replicated() || c.wanting.empty()) continue;
    // Workers that may take this campaign's replicas at all.
    std::unordered_set<std::string> able;
    for (const auto& [conn, w] : workers_)
      if (!w.draining && !w.row.flagged && may_work_on(w, c) &&
          (w.row.platform != "wasm32" || !c.row.spec.kernel_wasm.empty()))
        able.insert(w.row.id);
    std::vector<int64_t> starved, handed;
    const auto timeout = std::chrono::milliseconds(c.row.spec.timeout_ms);
    for (int64_t tid : c.wanting) {
      auto it = c.open.find(tid);
      if (it == c.open.end() || it->second.finished || it->second.want <= 0) continue;
      Replicated& r = it->second;
      size_t taken = 0;  // able workers that have had their part already
      for (const auto& id : able) taken += has_part(r.holders, r.votes, id) ? 1 : 0;
      if (taken < able.size()) {
        r.starved_since = {};
        continue;
      }
      if (r.starved_since == Clock::time_point{}) r.starved_since = now;
      // Another pool's workers may give what is missing: once no replica
      // of it runs here, the task goes back to the store (its votes stay
      // there) for a pool that has them to claim.
      if (store_.shared() && r.holders.empty() &&
          now - r.starved_since >= std::min<Clock::duration>(kHandBack, timeout)) {
        if (others < 0) {
          auto n = store_.other_pools();
          others = n.ok() ? *n : 0;
        }
        if (others > 0) {
          handed.push_back(tid);
          continue;
        }
      }
      if (now - r.starved_since > timeout) starved.push_back(tid);
    }
    if (!handed.empty()) hand_back(c, handed);
    for (int64_t tid : starved) {
      Replicated& r = c.open.at(tid);
      std::set<std::string> platforms;
      for (const Vote& v : r.votes) platforms.insert(v.platform);
      const std::string why = fmt::format(
          "no quorum: {} results from {} platform{} ({}), {} needed to agree, and no other "
          "worker to ask for {} ms",
          r.votes.size(), platforms.size(), platforms.size() == 1 ? "" : "s",
          fmt::join(platforms, ", "), c.row.spec.quorum, c.row.spec.timeout_ms);
      auto stored = store_.fail_attempt(tid, why, 0, "");
      if (!stored.ok()) diag::error("{}", stored.status().message());
      ++c.row.failed;
      ++counters_.failures_total;
      ++counters_.no_quorum_total;
      diag::warning("task {} of '{}' failed: {}", tid, c.row.spec.name, why);
      end_task(c, r);
    }
  }
}

void Scheduler::hand_back(Campaign& c, const std::vector<int64_t>& tasks) {
  if (Status s = store_.release_tasks(tasks, true); !s.ok()) return diag::error("{}", s.message());
  for (int64_t tid : tasks) c.open.erase(tid);
  std::erase_if(c.wanting, [&](int64_t tid) { return !c.open.count(tid); });
  counters_.tasks_released_total += tasks.size();
  diag::debug("{} of '{}' to the other pools: no worker here can give the replicas they want",
              diag::count(tasks.size(), "task"), c.row.spec.name);
}

void Scheduler::end_task(Campaign& c, Replicated& r) {
  end_task(c, r.task.id);
}

void Scheduler::end_task(Campaign& c, int64_t task) {
  auto it = c.open.find(task);
  if (it == c.open.end()) return;
  it->second.finished = true;
  it->second.want = 0;
  if (Status s = store_.delete_votes(task); !s.ok()) diag::error("{}", s.message());
  forget_task(task);
  close_if_done(c, task);
}

void Scheduler::close_if_done(Campaign& c, int64_t task) {
  auto it = c.open.find(task);
  if (it != c.open.end() && it->second.finished && it->second.holders.empty()) c.open.erase(it);
}

void Scheduler::flag(const std::string& worker, const Campaign& c, int64_t task,
                     std::string_view output, std::string_view accepted) {
  ++counters_.disagreements_total;
  diag::warning("worker {} disagreed with the quorum on task {} of '{}': flagged", worker, task,
                c.row.spec.name);
  if (Status s = store_.flag_worker(worker); !s.ok()) diag::error("{}", s.message());
  FlagRow evidence{
      worker, task, c.row.spec.name, unix_clock_(), std::string(output), std::string(accepted)};
  if (Status s = store_.add_flag_evidence(evidence); !s.ok()) diag::error("{}", s.message());
  std::vector<Worker*> live;
  for (auto& [conn, w] : workers_)
    if (w.row.id == worker) live.push_back(&w);
  for (Worker* w : live) {
    w->row.flagged = true;
    if (w->row.disagreements++ < kMaxPenalties) w->row.score /= 2;
  }
  if (!flagged_.insert(worker).second) return;
  // A flagged worker gets no tasks at all until an admin lifts its flag,
  // and its leases are handed to others now (what it sends for them later
  // is ignored, as for any lost lease).
  for (Worker* w : live) {
    std::vector<int64_t> revoked;
    for (auto& [id, lease] : w->leases) revoked.push_back(id);
    for (int64_t id : revoked) {
      Lease lease = std::move(w->leases.at(id));
      w->leases.erase(id);
      auto lc = campaigns_.find(lease.task.campaign);
      if (lc != campaigns_.end()) return_lease(lc->second, std::move(lease), worker);
    }
  }
  // Its votes on open tasks stop counting: those tasks may want more replicas.
  std::vector<std::pair<int64_t, int64_t>> touched;
  for (auto& [cid, camp] : campaigns_) {
    for (auto& [tid, r] : camp.open) {
      if (r.finished) continue;
      for (Vote& v : r.votes)
        if (v.worker == worker && v.counted) v.counted = false, touched.emplace_back(cid, tid);
    }
  }
  for (auto [cid, tid] : touched) {
    auto camp = campaigns_.find(cid);
    auto r = camp->second.open.find(tid);
    if (r != camp->second.open.end() && !r->second.finished)
      judge_task(camp->second, r->second, true);
  }
}

}  // namespace w::pool
