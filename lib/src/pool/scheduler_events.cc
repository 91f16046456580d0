// The scheduler's events: what each message, close or tick of the pool
// server does to the scheduling state (scheduler.h). The rules they apply
// are in scheduler.cc (leases, prefetch, priorities), groups.cc, replicas.cc
// and quarantine.cc.
#include <ctime>

#include <fmt/format.h>

#include "scheduler.h"
#include "w/diag.h"

namespace w::pool {

namespace {
// "1 worker", "2 workers": a count with its noun, plural unless it is 1.
std::string count_of(long long n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}
}  // namespace

Scheduler::Scheduler(Store& store, double worker_timeout, UnixClock unix_clock)
    : store_(store),
      worker_timeout_(worker_timeout),
      unix_clock_(unix_clock ? std::move(unix_clock)
                             : [] { return static_cast<int64_t>(std::time(nullptr)); }) {}

Status Scheduler::load() {
  auto rows = store_.campaigns();
  if (!rows.ok()) return rows.status();
  // A campaign without tasks may be one another live pool's client is
  // submitting to now: only a pool alone on its store drops them.
  auto others = store_.other_pools();
  if (!others.ok()) return others.status();
  for (auto& row : *rows) {
    Campaign c;
    c.row = std::move(row);
    by_name_[c.row.spec.name] = c.row.id;
    const int64_t id = c.row.id;
    campaigns_.emplace(id, std::move(c));
    // Opened by a submit that stored nothing before the pool went down.
    if (*others == 0) drop_empty(id);
  }
  W_RETURN_IF_ERROR(load_flagged());
  return load_checkpoints();
}

Status Scheduler::load_checkpoints() {
  auto tasks = store_.checkpointed_tasks();
  if (!tasks.ok()) return tasks.status();
  checkpointed_ = std::unordered_set<int64_t>(tasks->begin(), tasks->end());
  return {};
}

void Scheduler::decide(net::ConnId conn, decltype(Decision::action) action) {
  decisions_.push_back({conn, std::move(action)});
}

std::vector<Decision> Scheduler::take_decisions() {
  std::vector<Decision> out;
  out.swap(decisions_);
  return out;
}

const Scheduler::Campaign* Scheduler::campaign(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &campaigns_.at(it->second);
}

const Scheduler::Campaign* Scheduler::campaign(int64_t id) const {
  auto it = campaigns_.find(id);
  return it == campaigns_.end() ? nullptr : &it->second;
}

const Scheduler::Worker* Scheduler::worker(net::ConnId conn) const {
  auto it = workers_.find(conn);
  return it == workers_.end() ? nullptr : &it->second;
}

Scheduler::Worker* Scheduler::find_worker(net::ConnId conn) {
  auto it = workers_.find(conn);
  return it == workers_.end() ? nullptr : &it->second;
}

bool Scheduler::may_work_on(const Worker& w, const Campaign& c) const {
  return w.scope.empty() || w.scope == c.row.spec.name;
}

void Scheduler::worker_joined(net::ConnId conn, WorkerRow row, bool coupled, std::string scope,
                              Clock::time_point now) {
  now_ = now;
  Worker w;
  w.conn = conn;
  w.row = std::move(row);
  // A browser that is not cross-origin isolated cannot run members; a
  // worker older than the field can.
  w.coupled = coupled;
  w.scope = std::move(scope);
  w.last_heard = now;
  restore_worker(w.row);  // a known worker keeps its flag and counts
  diag::info("worker {} joined: {}, {}, score {:.0f}", w.row.id, count_of(w.row.slots, "slot"),
             w.row.platform, w.row.score);
  (void)store_.upsert_worker(w.row);
  Worker& joined = workers_.emplace(conn, std::move(w)).first->second;
  top_up(joined);
  speculate(&joined);  // an idle newcomer may copy a campaign's last tasks
}

void Scheduler::worker_left(net::ConnId conn, Clock::time_point now, int64_t unix_now) {
  now_ = now;
  store_results();  // its count, stored below, includes the results it sent
  auto it = workers_.find(conn);
  if (it == workers_.end()) return;
  Worker& w = it->second;
  if (auto c = campaigns_.find(w.campaign); c != campaigns_.end()) --c->second.bound;
  release_members(w, "worker lost (disconnected)", true);
  if (!w.violation.empty()) {
    // A worker that broke the protocol fails what it held: a task whose
    // result it cannot send (too large, malformed) must not come back for
    // ever without counting an attempt.
    std::vector<int64_t> held;
    for (const auto& [task, lease] : w.leases) held.push_back(task);
    for (int64_t task : held)
      finish_task(w, task, false, {}, "worker connection closed: " + w.violation, 0);
  }
  release_leases(w, "worker disconnected");
  w.row.last_seen = unix_now;
  (void)store_.upsert_worker(w.row);
  diag::info("worker {} ({}) left", w.row.id, w.row.name);
  workers_.erase(it);
  top_up_all();
}

void Scheduler::heard(net::ConnId conn, Clock::time_point now) {
  now_ = now;
  if (Worker* w = find_worker(conn)) w->last_heard = now;
}

void Scheduler::heartbeat(net::ConnId conn, double load, int64_t rss) {
  if (Worker* w = find_worker(conn)) {
    w->load = load;
    w->rss = rss;
  }
}

void Scheduler::violation(net::ConnId conn, const std::string& why) {
  Worker* w = find_worker(conn);
  if (!w) return;
  w->violation = why;
  w->closing = true;
}

Status Scheduler::results(net::ConnId conn, const proto::Results& m, Clock::time_point now) {
  now_ = now;
  Worker* w = find_worker(conn);
  if (!w) return Status::Invalid("say hello first");
  for (const proto::ResultItem& item : m.items) {
    const int64_t task = item.task;
    if (item.rank || (!w->members.empty() && !w->leases.count(task))) {
      store_results();  // the results before it are stored first, as they came
      // A member of a group run: by its rank, or the one member of the task it holds.
      int rank = item.rank.value_or(-1);
      if (rank < 0) {
        auto first = w->members.lower_bound({task, 0});
        if (first != w->members.end() && first->first.first == task &&
            (std::next(first) == w->members.end() || std::next(first)->first.first != task))
          rank = first->first.second;
      }
      if (rank >= 0)
        finish_member(*w, task, rank, item.group, item.ok, item.output, item.error, item.ms);
      continue;
    }
    if (!item.ok) {
      finish_task(*w, task, false, {}, item.error, item.ms);
    } else {
      finish_task(*w, task, true, item.output, {}, item.ms);
    }
  }
  top_up_after(w);
  return {};
}

Status Scheduler::checkpoint(net::ConnId conn, const proto::Checkpoint& m, Clock::time_point now) {
  now_ = now;
  Worker* w = find_worker(conn);
  if (!w) return Status::Invalid("say hello first");
  if (m.rank) return member_checkpoint(*w, m);
  auto lease = w->leases.find(m.task);
  // Only the lease holder may save a task's state. A replica must be
  // computed independently, so replicated campaigns keep no checkpoints:
  // one worker's state must never seed another worker's replica.
  auto c =
      lease == w->leases.end() ? campaigns_.end() : campaigns_.find(lease->second.task.campaign);
  if (c == campaigns_.end() || c->second.row.spec.replicas > 1) {
    ++counters_.checkpoints_ignored;
    return {};
  }
  W_RETURN_IF_ERROR(store_.save_checkpoint(m.task, m.data));
  checkpointed_.insert(m.task);
  ++counters_.checkpoints_total;
  return {};
}

void Scheduler::drain(net::ConnId conn, const proto::Bye& m, Clock::time_point now) {
  now_ = now;
  Worker* wp = find_worker(conn);
  if (!wp) return;
  Worker& w = *wp;
  w.draining = true;
  for (int64_t task : m.returned) {
    // A member it did not start: its run fails, without counting an attempt.
    for (auto mem = w.members.lower_bound({task, 0});
         mem != w.members.end() && mem->first.first == task;
         mem = w.members.lower_bound({task, 0})) {
      const auto [key, gid] = *mem;
      w.members.erase(mem);
      fail_group(
          gid, key.second,
          fmt::format("{}: rank {} of {}: returned (worker draining)", w.row.id, key.second, gid),
          false);
    }
    auto lease = w.leases.find(task);
    if (lease == w.leases.end()) continue;
    auto c = campaigns_.find(lease->second.task.campaign);
    if (c != campaigns_.end()) return_lease(c->second, std::move(lease->second), w.row.id, w.conn);
    w.leases.erase(lease);
  }
  top_up_all();
}

void Scheduler::campaign_created(CampaignRow row) {
  Campaign c;
  c.row = std::move(row);
  c.store_exhausted = true;
  by_name_[c.row.spec.name] = c.row.id;
  const int64_t id = c.row.id;
  campaigns_.emplace(id, std::move(c));
}

void Scheduler::tasks_added(int64_t id, int64_t n, Clock::time_point now) {
  now_ = now;
  auto it = campaigns_.find(id);
  if (it == campaigns_.end()) return;
  it->second.row.total += n;
  it->second.store_exhausted = false;
  top_up_all();
}

Status Scheduler::set_state(int64_t id, const std::string& state, Clock::time_point now) {
  now_ = now;
  auto it = campaigns_.find(id);
  if (it == campaigns_.end()) return Status::NotFound("no such campaign");
  W_RETURN_IF_ERROR(store_.set_campaign_state(id, state));
  it->second.row.state = state;
  top_up_all();
  return {};
}

Status Scheduler::delete_campaign(int64_t id, Clock::time_point now) {
  now_ = now;
  store_results();
  auto it = campaigns_.find(id);
  if (it == campaigns_.end()) return Status::NotFound("no such campaign");
  W_RETURN_IF_ERROR(store_.delete_campaign(id));
  forget_campaign(id);
  W_RETURN_IF_ERROR(load_checkpoints());  // the campaign's went with it
  top_up_all();
  return {};
}

void Scheduler::forget_campaign(int64_t id) {
  auto it = campaigns_.find(id);
  if (it == campaigns_.end()) return;
  drop_groups(id);
  for (auto& [conn, w] : workers_)
    if (w.campaign == id) release_leases(w, "campaign deleted"), w.campaign = 0;
  by_name_.erase(it->second.row.spec.name);
  campaigns_.erase(it);
}

void Scheduler::drop_empty(int64_t id) {
  auto it = campaigns_.find(id);
  if (it == campaigns_.end() || it->second.row.total != 0) return;
  for (auto& [conn, w] : workers_)  // no task: nothing leased, only the binding
    if (w.campaign == id) w.campaign = 0;
  if (Status s = store_.delete_campaign(id); !s.ok()) {
    diag::warning("campaign {}: {}", id, s.message());
    return;
  }
  diag::info("campaign {} '{}' dropped: its submit stored no dataset", id,
             it->second.row.spec.name);
  by_name_.erase(it->second.row.spec.name);
  campaigns_.erase(it);
}

Status Scheduler::unflag(const std::string& worker, Clock::time_point now) {
  now_ = now;
  W_RETURN_IF_ERROR(store_.unflag_worker(worker));
  flagged_.erase(worker);
  for (auto& [conn, w] : workers_)
    if (w.row.id == worker) w.row.flagged = false;
  diag::info("worker {}: flag lifted", worker);
  top_up_all();
  return {};
}

}  // namespace w::pool
