// The scheduler: which tasks go to which worker, leases and their deadlines.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "pool_server.h"
#include "w/diag.h"

namespace w::pool {
namespace {

constexpr int kLoadBatch = 2048;    // tasks read from the store at a time
constexpr size_t kLowWater = 512;   // refill the window below this
constexpr int kMaxPrefetch = 4096;  // most tasks outstanding per worker
constexpr auto kLeaseGrace = std::chrono::seconds(5);

}  // namespace

int PoolServer::prefetch(const Worker& w) const {
  // Enough tasks in hand to cover ~50 ms of work per slot: tiny tasks need
  // deep queues to hide round trips, long ones shallow so the tail is even.
  if (w.avg_ms < 0) return w.row.slots * 2;
  const double per_slot = std::ceil(50.0 / std::max(w.avg_ms, 0.001));
  return static_cast<int>(std::clamp(per_slot * w.row.slots, static_cast<double>(w.row.slots),
                                     static_cast<double>(kMaxPrefetch)));
}

bool PoolServer::take_task(Campaign& c, TaskRow& task) {
  if (!c.requeued.empty()) {
    task = std::move(c.requeued.front());
    c.requeued.pop_front();
    return true;
  }
  if (c.ready.size() < kLowWater && !c.store_exhausted) {
    auto more = store_.queued_tasks(c.row.id, c.cursor, kLoadBatch);
    if (!more.ok()) {
      diag::error("{}", more.status().message());
    } else {
      if (more->size() < static_cast<size_t>(kLoadBatch)) c.store_exhausted = true;
      for (auto& t : *more) {
        c.cursor = t.id;
        c.ready.push_back(std::move(t));
      }
    }
  }
  if (c.ready.empty()) return false;
  task = std::move(c.ready.front());
  c.ready.pop_front();
  return true;
}

PoolServer::Campaign* PoolServer::pick_campaign(const Worker& w) {
  if (w.campaign) {
    auto it = campaigns_.find(w.campaign);
    if (it != campaigns_.end() && it->second.row.state == "running" && it->second.has_work())
      return &it->second;
    if (!w.leases.empty()) return nullptr;  // finish the old campaign's tasks first
  }
  Campaign* best = nullptr;
  for (auto& [id, c] : campaigns_) {
    if (c.row.state != "running" || !c.has_work()) continue;
    // Highest priority first; among equals, the one with fewest leased tasks.
    if (!best || c.row.spec.priority > best->row.spec.priority ||
        (c.row.spec.priority == best->row.spec.priority && c.leased < best->leased))
      best = &c;
  }
  return best;
}

void PoolServer::top_up(Worker& w) {
  if (w.draining || !server_->is_open(w.conn)) return;
  const int want = w.row.slots + prefetch(w) - static_cast<int>(w.leases.size());
  if (want <= 0) return;
  Campaign* c = pick_campaign(w);
  if (!c) return;
  if (c->row.id != w.campaign) {
    w.campaign = c->row.id;
    reply(w.conn, mp::MapBuilder()
                      .str("t", "campaign")
                      .integer("campaign", c->row.id)
                      .str("name", c->row.spec.name)
                      .str("kernel", c->row.spec.kernel_sha)
                      .raw("static", c->row.spec.static_data)
                      .integer("timeout_ms", c->row.spec.timeout_ms)
                      .done());
  }
  std::string items;
  mp::Packer pk(items);
  std::vector<int64_t> sent;
  std::string body;
  mp::Packer bpk(body);
  const auto now = Clock::now();
  const auto timeout = std::chrono::milliseconds(c->row.spec.timeout_ms);
  TaskRow task;
  while (static_cast<int>(sent.size()) < want && take_task(*c, task)) {
    bpk.raw(mp::MapBuilder()
                .integer("id", task.id)
                .integer("seq", task.seq)
                .raw("input", task.input)
                .done());
    sent.push_back(task.id);
    // The deadline allows for the tasks queued ahead of this one on the worker.
    const auto ahead = static_cast<long>(w.leases.size()) / std::max(1, w.row.slots);
    Lease lease{std::move(task), now + timeout * (ahead + 1) + kLeaseGrace};
    w.leases.emplace(sent.back(), std::move(lease));
    ++c->leased;
  }
  if (sent.empty()) return;
  pk.array(static_cast<uint32_t>(sent.size()));
  pk.raw(body);
  reply(
      w.conn,
      mp::MapBuilder().str("t", "tasks").integer("campaign", c->row.id).raw("items", items).done());
}

void PoolServer::top_up_all() {
  for (auto& [id, w] : workers_) top_up(w);
}

void PoolServer::release_leases(Worker& w, const std::string& why) {
  if (w.leases.empty()) return;
  diag::debug("{} tasks of worker {} back to the queue: {}", w.leases.size(), w.row.id, why);
  for (auto& [id, lease] : w.leases) {
    auto it = campaigns_.find(lease.task.campaign);
    if (it == campaigns_.end()) continue;
    --it->second.leased;
    ++requeues_total_;
    it->second.requeued.push_front(std::move(lease.task));
  }
  w.leases.clear();
}

void PoolServer::finish_task(Worker& w, int64_t task_id, bool ok, std::string_view output,
                             const std::string& error, double ms) {
  auto lease_it = w.leases.find(task_id);
  if (lease_it == w.leases.end()) return;  // not this worker's (late, or already re-leased)
  Lease lease = std::move(lease_it->second);
  w.leases.erase(lease_it);
  auto cit = campaigns_.find(lease.task.campaign);
  if (cit == campaigns_.end()) return;
  Campaign& c = cit->second;
  --c.leased;
  w.avg_ms = w.avg_ms < 0 ? ms : 0.95 * w.avg_ms + 0.05 * ms;
  if (ok) {
    auto stored = store_.complete_task(task_id, output, w.row.id, w.row.platform, ms);
    if (stored.ok() && *stored) {
      ++c.row.done;
      ++w.row.tasks_done;
      ++results_total_;
    } else if (!stored.ok()) {
      diag::error("{}", stored.status().message());
    }
  } else {
    ++w.row.tasks_failed;
    auto final = store_.fail_attempt(task_id, fmt::format("{}: {}", w.row.id, error),
                                     c.row.spec.max_attempts, w.row.id);
    if (!final.ok()) {
      diag::error("{}", final.status().message());
    } else if (*final) {
      ++c.row.failed;
      ++failures_total_;
      diag::warning("task {} of '{}' failed for good after {} attempts", task_id, c.row.spec.name,
                    c.row.spec.max_attempts);
    } else {
      ++lease.task.attempts;
      c.requeued.push_back(std::move(lease.task));
    }
  }
  schedule_commit();
}

Status PoolServer::on_results(Worker& w, const mp::MapView& m) {
  std::vector<std::string_view> items;
  if (!mp::decode_array(m.raw("items"), items))
    return Status::Invalid("results: 'items' is not an array");
  for (auto raw : items) {
    auto item = mp::MapView::parse(raw);
    if (!item.ok()) return Status::Invalid("results: an item is not a map");
    auto task = item->integer("task");
    if (!task.ok()) return task.status();
    const double ms = item->number("ms").ok() ? *item->number("ms") : 0;
    if (item->has("error")) {
      finish_task(w, *task, false, {}, *item->string("error", "failed"), ms);
    } else {
      finish_task(w, *task, true, item->raw("output"), {}, ms);
    }
  }
  return {};
}

void PoolServer::check_deadlines() {
  const auto now = Clock::now();
  const auto silent = std::chrono::milliseconds(static_cast<long>(options_.worker_timeout * 1000));
  std::vector<net::ConnId> gone;
  for (auto& [id, w] : workers_) {
    if (now - w.last_heard > silent) {
      gone.push_back(id);
      continue;
    }
    std::vector<int64_t> expired;
    for (auto& [task, lease] : w.leases)
      if (lease.deadline < now) expired.push_back(task);
    for (int64_t task : expired) {
      auto c = campaigns_.find(w.leases.at(task).task.campaign);
      const int64_t timeout_ms = c == campaigns_.end() ? 0 : c->second.row.spec.timeout_ms;
      finish_task(w, task, false, {},
                  fmt::format("lease expired: no result within {} ms", timeout_ms), 0);
    }
  }
  for (net::ConnId id : gone) {
    diag::warning("worker {} silent for {:g} s: dropping it", workers_.at(id).row.id,
                  options_.worker_timeout);
    server_->close(id, 1001, "silent too long");
    release_leases(workers_.at(id), "worker silent");
  }
  // Smoothed completion rate per campaign, for status and ETA.
  for (auto& [id, c] : campaigns_) {
    const double rate = static_cast<double>(c.row.done + c.row.failed - c.done_last_tick) / 0.25;
    c.done_rate = c.done_rate == 0 ? rate : 0.9 * c.done_rate + 0.1 * rate;
    c.done_last_tick = c.row.done + c.row.failed;
  }
  if (!gone.empty()) top_up_all();
}

}  // namespace w::pool
