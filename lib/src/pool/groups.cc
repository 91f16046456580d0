// Coupled campaigns (`--group K`): gang scheduling of group runs.
//
// Each task of a K-group campaign runs as K members (ranks 0..K-1), each on
// its own slot, all started together: a group run is leased only when K
// slots are free at once among the workers that may take the campaign now
// (bound to it, or holding nothing and picking it next). A free slot holds
// no lease at all: group campaigns get no prefetch, so a member never waits
// behind another task. Among the free slots the pool picks the K whose
// dhrystone scores are closest (then the fewest workers), so that members
// run at similar speeds and, where they can, on one worker.
//
// A group run is a fresh id per dispatch; its K leases share one deadline.
// When every member's result is in, the task is done and its stored output
// is the array of the members' outputs by rank. When one member fails
// (error, lost worker, missed deadline) the run fails as a whole: the other
// members' workers get `abort`, the task's attempt is counted once and the
// task is queued again (a new run, a new id), up to max_attempts. Results of
// a run that ended are ignored. Runs live in memory only: after a restart
// the task is simply queued, as any leased task is.
#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>

#include "scheduler.h"
#include "w/cap.h"
#include "w/diag.h"

namespace w::pool {
namespace {

constexpr auto kGroupGrace = std::chrono::seconds(5);

}  // namespace

std::string Scheduler::new_group_id(const TaskRow& task) {
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  while (true) {
    std::string id = fmt::format("g{}a{}x", task.id, task.attempts + 1);
    for (int i = 0; i < 6; ++i) id += kAlnum[rng() % (sizeof(kAlnum) - 1)];
    if (!groups_.count(id)) return id;
  }
}

void Scheduler::bind(Worker& w, const Campaign& c) {
  if (c.row.id == w.campaign) return;
  if (auto old = campaigns_.find(w.campaign); old != campaigns_.end()) --old->second.bound;
  ++campaigns_.at(c.row.id).bound;
  w.campaign = c.row.id;
  // Kept for good: a capability scoped to the campaign may see this worker.
  if (Status s = store_.add_campaign_worker(c.row.id, w.row.id); !s.ok())
    diag::warning("campaign {}: {}", c.row.id, s.message());
  w.avg_ms = -1;  // the task time of the old campaign says nothing of this one
  decide(w.conn,
         BindCampaign{c.row.id, c.row.spec.name,
                      w.row.platform == "wasm32" ? c.row.spec.kernel_wasm : c.row.spec.kernel_sha,
                      c.row.spec.static_data, c.row.spec.timeout_ms, c.row.spec.group});
}

std::vector<std::pair<Scheduler::Worker*, int>> Scheduler::group_candidates(Campaign& c) {
  std::vector<std::pair<Worker*, int>> out;
  for (auto& [conn, w] : workers_) {
    if (w.draining || w.closing) continue;
    const int free = w.row.slots - w.busy();
    if (free <= 0 || pick_campaign(w) != &c) continue;
    out.emplace_back(&w, free);
  }
  return out;
}

int64_t Scheduler::group_capacity(const Campaign& c) const {
  int64_t n = 0;
  for (const auto& [conn, w] : workers_)
    if (!w.draining && w.coupled && may_work_on(w, c) &&
        (w.row.platform != "wasm32" || !c.row.spec.kernel_wasm.empty()))
      n += w.row.slots;
  return n;
}

void Scheduler::schedule_groups(Campaign& c, std::vector<std::pair<Worker*, int>> candidates) {
  const int k = c.row.spec.group;
  // Slots by score; one worker's slots side by side (ties broken by connection).
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.first->row.score != b.first->row.score ? a.first->row.score < b.first->row.score
                                                    : a.first->conn < b.first->conn;
  });
  while (true) {
    std::vector<size_t> slots;  // candidate index per free slot, at most k per worker
    for (size_t i = 0; i < candidates.size(); ++i)
      for (int s = 0; s < std::min(candidates[i].second, k); ++s) slots.push_back(i);
    if (static_cast<int>(slots.size()) < k || !c.has_work()) return;
    // The window of k slots with the closest scores, then the fewest workers.
    size_t best = 0;
    double best_spread = 0;
    int best_workers = 0;
    for (size_t s = 0; s + static_cast<size_t>(k) <= slots.size(); ++s) {
      const double spread = candidates[slots[s + static_cast<size_t>(k) - 1]].first->row.score -
                            candidates[slots[s]].first->row.score;
      int workers = 1;
      for (size_t j = s + 1; j < s + static_cast<size_t>(k); ++j)
        workers += slots[j] != slots[j - 1];
      if (s == 0 || spread < best_spread || (spread == best_spread && workers < best_workers))
        best = s, best_spread = spread, best_workers = workers;
    }
    TaskRow task;
    if (!take_task(c, task)) return;
    GroupRun run;
    run.id = new_group_id(task);
    run.saved.resize(static_cast<size_t>(k));
    std::vector<std::string> restore = member_restore(task.id, k, run.common);
    run.deadline = now_ + std::chrono::milliseconds(c.row.spec.timeout_ms) + kGroupGrace;
    run.members.resize(static_cast<size_t>(k));
    // Ranks in window order: one worker's members get consecutive ranks.
    std::map<size_t, std::vector<int>> ranks_of;  // candidate index -> ranks
    for (int r = 0; r < k; ++r) {
      const size_t i = slots[best + static_cast<size_t>(r)];
      ranks_of[i].push_back(r);
      run.members[static_cast<size_t>(r)].conn = candidates[i].first->conn;
      run.members[static_cast<size_t>(r)].worker = candidates[i].first->row.id;
    }
    // Browser members open WebRTC DataChannels to each other (w-protocol(7)
    // `browsers`): the ranks on wasm32 workers, told to those workers.
    std::vector<int> browsers;
    // Native members that link directly prove this to each other (a run's
    // own secret: knowing the group id, which wsig sees, is not enough).
    std::string link;
    if (auto secret = cap::generate_secret(); secret.ok()) link = secret->substr(0, 32);
    for (int r = 0; r < k; ++r)
      if (candidates[slots[best + static_cast<size_t>(r)]].first->row.platform == "wasm32")
        browsers.push_back(r);
    for (auto& [i, ranks] : ranks_of) {
      Worker& w = *candidates[i].first;
      SendTasks message{c.row.id, {}};
      for (int r : ranks) {
        TaskGrant item{task.id, task.seq, task.input};
        item.group = run.id;
        item.rank = r;
        item.size = k;
        if (w.row.platform == "wasm32" && browsers.size() > 1) item.browsers = browsers;
        if (w.row.platform != "wasm32") item.link = link;
        if (!restore.empty()) {
          item.checkpoint = std::move(restore[static_cast<size_t>(r)]);
          item.step = run.common;
        }
        message.items.push_back(std::move(item));
        w.members.emplace(std::make_pair(task.id, r), run.id);
      }
      bind(w, c);
      decide(w.conn, std::move(message));
      candidates[i].second -= static_cast<int>(ranks.size());
    }
    diag::debug("task {} of '{}': group run {} on {} workers", task.id, c.row.spec.name, run.id,
                ranks_of.size());
    ++c.leased;
    ++counters_.group_runs_total;
    run.task = std::move(task);
    std::string id = run.id;
    groups_.emplace(std::move(id), std::move(run));
  }
}

bool Scheduler::finish_member(Worker& w, int64_t task, int rank, const std::string& group, bool ok,
                              std::string_view output, const std::string& error, double ms) {
  auto it = w.members.find({task, rank});
  if (it == w.members.end()) return false;
  if (!group.empty() && group != it->second) return false;  // an earlier run's late result
  const std::string gid = it->second;
  auto g = groups_.find(gid);
  if (g == groups_.end()) {
    w.members.erase(it);
    return false;
  }
  if (!ok) {
    ++w.row.tasks_failed;
    fail_group(gid, rank, fmt::format("{}: rank {} of {}: {}", w.row.id, rank, gid, error), true);
    return true;
  }
  w.members.erase(it);
  GroupRun& run = g->second;
  GroupMember& m = run.members[static_cast<size_t>(rank)];
  if (m.done) return true;
  m.done = true;
  m.output = output == "\xc0" ? std::string() : std::string(output);
  m.ms = ms;
  if (++run.done < static_cast<int>(run.members.size())) return true;
  // Every member is in: the task's output is their outputs, by rank.
  GroupRun finished = std::move(run);
  groups_.erase(g);
  auto cit = campaigns_.find(finished.task.campaign);
  if (cit == campaigns_.end()) return true;
  Campaign& c = cit->second;
  --c.leased;
  std::string out, workers;
  mp::Packer pk(out);
  pk.array(static_cast<uint32_t>(finished.members.size()));
  double wall = 0;
  std::set<std::string> seen;
  for (const GroupMember& gm : finished.members) {
    if (gm.output.empty())
      pk.nil();
    else
      pk.raw(gm.output);
    wall = std::max(wall, gm.ms);
    if (seen.insert(gm.worker).second) workers += (workers.empty() ? "" : ",") + gm.worker;
  }
  auto stored = store_.complete_task(finished.task.id, out, workers, w.row.platform, wall);
  if (!stored.ok()) {
    diag::error("{}", stored.status().message());
  } else if (*stored) {
    ++c.row.done;
    ++counters_.results_total;
    for (const GroupMember& gm : finished.members)
      if (auto mw = workers_.find(gm.conn); mw != workers_.end()) ++mw->second.row.tasks_done;
    forget_task(finished.task.id);
  }
  return true;
}

void Scheduler::fail_group(const std::string& gid, int rank, const std::string& why, bool count) {
  auto g = groups_.find(gid);
  if (g == groups_.end()) return;
  GroupRun run = std::move(g->second);
  groups_.erase(g);
  ++counters_.group_aborts_total;
  // Free every member's slot; the workers still running one are told to stop.
  std::set<net::ConnId> running;
  for (size_t r = 0; r < run.members.size(); ++r) {
    auto wit = workers_.find(run.members[r].conn);
    if (wit == workers_.end()) continue;
    auto mit = wit->second.members.find({run.task.id, static_cast<int>(r)});
    if (mit == wit->second.members.end() || mit->second != gid) continue;
    wit->second.members.erase(mit);
    if (static_cast<int>(r) != rank) running.insert(wit->first);
  }
  for (net::ConnId conn : running) decide(conn, proto::Abort{gid, why});
  diag::info("group run {} of task {} aborted: {}", gid, run.task.id, why);
  poke_all_ = true;  // its slots are free, and the task wants a new run
  auto cit = campaigns_.find(run.task.campaign);
  if (cit == campaigns_.end()) return;
  Campaign& c = cit->second;
  --c.leased;
  if (!count) {
    ++counters_.requeues_total;
    c.requeued.push_front(std::move(run.task));
    return;
  }
  const std::string worker =
      rank >= 0 && static_cast<size_t>(rank) < run.members.size() ? run.members[rank].worker : "";
  auto final = store_.fail_attempt(run.task.id, why, c.row.spec.max_attempts, worker);
  if (!final.ok()) {
    diag::error("{}", final.status().message());
  } else if (*final) {
    ++c.row.failed;
    ++counters_.failures_total;
    forget_task(run.task.id);
    diag::warning("task {} of '{}' failed for good after {}", run.task.id, c.row.spec.name,
                  diag::count(c.row.spec.max_attempts, "attempt"));
  } else {
    ++run.task.attempts;
    c.requeued.push_back(std::move(run.task));
  }
}

void Scheduler::release_members(Worker& w, const std::string& why, bool count) {
  while (!w.members.empty()) {
    auto [key, gid] = *w.members.begin();
    w.members.erase(w.members.begin());
    fail_group(gid, key.second,
               fmt::format("{}: rank {} of {}: {}", w.row.id, key.second, gid, why), count);
  }
}

void Scheduler::check_group_deadlines() {
  if (groups_.empty()) return;
  const auto now = now_;
  std::vector<std::pair<std::string, std::string>> expired;  // id, why
  for (const auto& [id, run] : groups_) {
    if (run.deadline >= now) continue;
    std::string missing;
    for (size_t r = 0; r < run.members.size(); ++r)
      if (!run.members[r].done)
        missing +=
            fmt::format("{}rank {} ({})", missing.empty() ? "" : ", ", r, run.members[r].worker);
    auto c = campaigns_.find(run.task.campaign);
    expired.emplace_back(id,
                         fmt::format("{} of {}: no result within {} ms", missing, id,
                                     c == campaigns_.end() ? 0 : c->second.row.spec.timeout_ms));
  }
  for (auto& [id, why] : expired) fail_group(id, -1, why, true);
}

void Scheduler::drop_groups(int64_t campaign) {
  std::vector<std::string> ids;
  for (const auto& [id, run] : groups_)
    if (run.task.campaign == campaign) ids.push_back(id);
  for (const auto& id : ids) fail_group(id, -1, "campaign deleted", false);
}

}  // namespace w::pool
