// Several pools on one shared store (PostgreSQL): what each learns of the
// others' work, and the tasks it hands back (scheduler.h, Store::shared()).
//
// Each pool claims the queued tasks it loads, so the others never see them;
// what the others did reaches this one only through the store: campaigns
// they created, paused or deleted, tasks their clients added, results their
// workers returned. sync() reads that back every second. Tasks whose claim
// lapsed (their pool died) are found again by scanning each open campaign
// from its first task once its window is exhausted: a claim skips the
// tasks live pools hold, so the scan is of the few queued ones.
#include <fmt/format.h>

#include "scheduler.h"
#include "w/diag.h"

namespace w::pool {
namespace {

// Claimed tasks no worker of this pool took for this long go back to the
// store, where a pool whose workers are idle may take them: the end of a
// campaign is not held up by a pool that lost its workers.
constexpr auto kUnusedClaim = std::chrono::seconds(2);

}  // namespace

Status Scheduler::sync(Clock::time_point now) {
  if (!store_.shared()) return {};
  now_ = now;
  store_results();  // the counts read back include this pool's results
  auto rows = store_.campaigns();
  if (!rows.ok()) return rows.status();
  bool changed = false;
  std::unordered_set<int64_t> seen;
  for (CampaignRow& row : *rows) {
    seen.insert(row.id);
    auto it = campaigns_.find(row.id);
    if (it == campaigns_.end()) {
      diag::info("campaign {} '{}': created through another pool", row.id, row.spec.name);
      Campaign c;
      c.row = std::move(row);
      by_name_[c.row.spec.name] = c.row.id;
      campaigns_.emplace(c.row.id, std::move(c));
      changed = true;
      continue;
    }
    Campaign& c = it->second;
    if (row.state != c.row.state) {
      diag::info("campaign {} '{}': {} through another pool", row.id, row.spec.name, row.state);
      c.row.state = row.state;
      changed = true;
    }
    // The store's counts are every pool's (and this one's uncommitted
    // writes, read in its own transaction).
    c.row.total = row.total;
    c.row.done = row.done;
    c.row.failed = row.failed;
    if (c.store_exhausted && !c.complete()) {
      // Tasks added through another pool, or claimed by one that died, may
      // be anywhere in the campaign: look again from the start.
      c.store_exhausted = false;
      c.cursor = 0;
      changed = true;
    }
    release_unused(c);
  }
  std::vector<int64_t> gone;
  for (auto& [id, c] : campaigns_)
    if (!seen.count(id)) gone.push_back(id);
  for (int64_t id : gone) {
    diag::info("campaign {} '{}': deleted through another pool", id,
               campaigns_.at(id).row.spec.name);
    forget_campaign(id);
    changed = true;
  }
  if (changed) top_up_all();
  return {};
}

void Scheduler::release_unused(Campaign& c) {
  if (c.ready.empty() && c.requeued.empty()) return;
  if (now_ - c.last_taken < kUnusedClaim) return;
  std::vector<int64_t> ids;
  ids.reserve(c.ready.size() + c.requeued.size());
  for (const TaskRow& t : c.ready) ids.push_back(t.id);
  for (const TaskRow& t : c.requeued) {
    ids.push_back(t.id);
    c.failed_on.erase(t.id);
  }
  if (Status s = store_.release_tasks(ids); !s.ok()) {
    diag::error("{}", s.message());
    return;
  }
  // Replicated campaigns keep tasks with votes in `open`, not here: what is
  // released had not been handed out.
  c.ready.clear();
  c.requeued.clear();
  c.store_exhausted = false;
  c.cursor = 0;
  counters_.tasks_released_total += ids.size();
}

}  // namespace w::pool
