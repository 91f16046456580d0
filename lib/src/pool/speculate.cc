// Speculation at the end of a campaign (scheduler.h). With slow and fast
// workers mixed (a browser runs at ~0.3x native), the last tasks decide the
// wall time: the queue is empty, the fast workers sit idle, and the campaign
// waits for the slow worker's last tasks. So once a campaign's queue is
// empty, each idle slot runs a copy of the oldest running task of it that
// has none yet, the idle workers of highest Dhrystone score first (MapReduce's
// backup tasks; BOINC's "reissue" of late results).
//
// Exactly once: the first result stored decides the task (the store's own
// rule, complete_task returns false for a second one). The other copy's
// lease becomes a `lost` entry of its worker: its result, ok or failed, is
// ignored and counted, never stored, never an attempt or a failure (the
// protocol can abort only group runs, so the copy runs to its end; it keeps
// its slot meanwhile, which is what the worker really does). A copy that
// fails, expires or is lost while the other copy still runs is dropped
// without a trace on the task; the last copy standing ends as any lease.
//
// Never for replicated campaigns (the replicas are already the redundancy,
// and a copy would be an unaccounted vote) nor coupled ones (a run is K
// slots), nor with the campaign's `speculate` off (wpool submit
// --no-speculate).
#include <algorithm>

#include "scheduler.h"
#include "w/diag.h"

namespace w::pool {
namespace {

constexpr auto kCopyGrace = std::chrono::seconds(5);  // as a lease's: see scheduler.cc

}  // namespace

void Scheduler::speculate(Worker* only) {
  for (auto& [id, c] : campaigns_)
    if (c.speculates() && c.row.state == "running" && !c.has_work() && c.leased > 0 &&
        !c.complete())
      speculate(c, only);
}

bool Scheduler::may_copy(const Worker& w, const Campaign& c) const {
  if (w.draining || w.closing || w.row.flagged || quarantined(w) || !may_work_on(w, c))
    return false;
  if (w.row.platform == "wasm32" && c.row.spec.kernel_wasm.empty()) return false;
  // A worker runs one campaign at a time: another's tasks in hand come first.
  if (w.campaign != c.row.id && w.busy() > 0) return false;
  // Idle slots only, not prefetch: a copy in a queue helps no one.
  return w.busy() < std::min(w.row.slots, allowance(w, c));
}

void Scheduler::speculate(Campaign& c, Worker* only) {
  // Every task out has had its copy: nothing to look for (this runs on
  // every result and tick while the campaign ends).
  if (static_cast<int64_t>(c.copied.size()) >= c.leased) return;
  // The idle slots, best score first (the fastest worker gets the copy
  // most likely to beat the original); the connection breaks ties, so the
  // choice does not depend on the hash map's order.
  std::vector<Worker*> idle;
  if (only) {
    if (may_copy(*only, c)) idle.push_back(only);
  } else {
    for (auto& [conn, w] : workers_)
      if (may_copy(w, c)) idle.push_back(&w);
  }
  if (idle.empty()) return;
  std::sort(idle.begin(), idle.end(), [](const Worker* a, const Worker* b) {
    return a->row.score != b->row.score ? a->row.score > b->row.score : a->conn < b->conn;
  });
  // The campaign's running tasks without a copy, oldest lease first.
  struct Running {
    Clock::time_point since;
    int64_t task;
    const Lease* lease;
    net::ConnId holder;
  };
  std::vector<Running> running;
  for (const auto& [conn, w] : workers_) {
    if (w.campaign != c.row.id) continue;  // a worker holds its bound campaign's tasks only
    for (const auto& [task, lease] : w.leases)
      if (lease.task.campaign == c.row.id && !c.copied.count(task))
        running.push_back({lease.since, task, &lease, conn});
  }
  std::sort(running.begin(), running.end(), [](const Running& a, const Running& b) {
    return a.since != b.since ? a.since < b.since : a.task < b.task;
  });
  const auto timeout = std::chrono::milliseconds(c.row.spec.timeout_ms);
  for (Worker* w : idle) {
    if (running.empty()) break;
    int free = std::min(w->row.slots, allowance(*w, c)) - w->busy();
    SendTasks message{c.row.id, {}};
    for (auto it = running.begin(); free > 0 && it != running.end();) {
      // Never a copy of a task it runs, nor of one that failed on it.
      auto failed = c.failed_on.find(it->task);
      if (it->holder == w->conn || w->leases.count(it->task) ||
          (failed != c.failed_on.end() && std::find(failed->second.begin(), failed->second.end(),
                                                    w->row.id) != failed->second.end())) {
        ++it;
        continue;
      }
      TaskRow task = it->lease->task;
      TaskGrant item{task.id, task.seq, task.input};
      // A checkpoint the original saved lets the copy start from there.
      if (!checkpointed_.empty() && checkpointed_.count(task.id))
        if (auto checkpoint = store_.load_checkpoint(task.id); checkpoint.ok())
          item.checkpoint = std::move(*checkpoint);
      message.items.push_back(std::move(item));
      const int64_t id = task.id;  // read before the task moves into its lease
      c.copied[id] = {it->holder, w->conn};
      w->leases.emplace(id, Lease{std::move(task), now_ + timeout + kCopyGrace, now_, true});
      ++counters_.speculative_copies_total;
      diag::debug("task {} of '{}': a copy for worker {}", it->task, c.row.spec.name, w->row.id);
      it = running.erase(it);
      --free;
    }
    if (message.items.empty()) continue;
    bind(*w, c);
    decide(w->conn, std::move(message));
  }
}

bool Scheduler::drop_copy(Campaign& c, int64_t task, net::ConnId conn) {
  auto it = c.copied.find(task);
  if (it == c.copied.end()) return false;
  std::erase(it->second, conn);
  if (!it->second.empty()) return true;
  c.copied.erase(it);  // it was the last copy: it ends as any lease
  return false;
}

void Scheduler::end_copies(Worker& w, Campaign& c, int64_t task, bool was_copy) {
  auto it = c.copied.find(task);
  if (it == c.copied.end()) return;
  bool other_ran = false;
  for (net::ConnId conn : it->second) {
    if (conn == w.conn) continue;
    Worker* other = find_worker(conn);
    if (!other) continue;
    auto lease = other->leases.find(task);
    if (lease == other->leases.end()) continue;
    other->lost.emplace(task, lease->second.deadline);
    other->leases.erase(lease);
    other_ran = true;
  }
  // A win: the copy came first while the original still ran.
  if (was_copy && other_ran) ++counters_.speculative_wins_total;
  c.copied.erase(it);
}

void Scheduler::expire_lost(Worker& w) {
  std::erase_if(w.lost, [&](const auto& entry) { return entry.second < now_; });
}

}  // namespace w::pool
