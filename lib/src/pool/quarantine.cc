// Quarantine: a worker that fails far more tasks of a campaign than the
// other workers do gets no tasks at all for a while.
//
// One broken or hostile worker (a `work` capability announcing many slots
// and answering every task with an error) would otherwise take most tasks
// and their retries and fail them all. Each worker keeps its last 32
// outcomes per campaign; after a failure, if it failed at least half of
// them (and 8 or more) while the other workers on the campaign failed far
// fewer (under a third of its rate, and they have 8 outcomes between them
// to judge by), it is quarantined: 60 s, doubling with each quarantine up
// to an hour. With no one to compare it with, a worker is never
// quarantined: the campaign, not the worker, may be what fails. A task it
// failed is retried on another worker when one may take it
// (Campaign::failed_on, take_task). `wpool workers` shows why.
//
// So that others have outcomes to compare with, and a worker announcing a
// thousand slots cannot take a whole campaign before its first result, a
// worker earns its slots on each campaign: it may hold 4 of the campaign's
// tasks, plus 2 for each success among its last 32 outcomes there, until
// those 32 are in with fewer than half failed (then its slots and prefetch
// are the only bound).
#include <algorithm>
#include <bit>
#include <climits>
#include <unordered_set>

#include <fmt/format.h>

#include "scheduler.h"
#include "w/diag.h"

namespace w::pool {
namespace {

constexpr int kFirstAllowance = 4;
constexpr int kMinFailures = 8;
constexpr int kMinOthers = 8;  // outcomes of other workers needed to compare
constexpr auto kFirstQuarantine = std::chrono::seconds(60);
constexpr auto kLongestQuarantine = std::chrono::hours(1);

}  // namespace

int Scheduler::Outcomes::failed() const {
  return std::popcount(failed_bits);
}

void Scheduler::record_outcome(Worker& w, const Campaign& c, bool failed) {
  Outcomes& o = outcomes_[w.row.id][c.row.id];
  o.failed_bits = (o.failed_bits << 1) | (failed ? 1u : 0u);
  o.seen = std::min(o.seen + 1, Outcomes::kWindow);
  if (!failed || o.failed() < kMinFailures || 2 * o.failed() < o.seen) return;
  int others_seen = 0, others_failed = 0;
  std::unordered_set<std::string> counted{w.row.id};  // a worker may have two connections
  for (const auto& [conn, other] : workers_) {
    if (!counted.insert(other.row.id).second) continue;
    auto mine = outcomes_.find(other.row.id);
    if (mine == outcomes_.end()) continue;
    auto it = mine->second.find(c.row.id);
    if (it == mine->second.end()) continue;
    others_seen += it->second.seen;
    others_failed += it->second.failed();
  }
  if (others_seen < kMinOthers) return;
  const double mine = static_cast<double>(o.failed()) / o.seen;
  const double theirs = static_cast<double>(others_failed) / others_seen;
  if (mine < 3 * theirs + 0.1) return;
  Quarantine& q = quarantines_[w.row.id];
  const auto length =
      std::min<Clock::duration>(kFirstQuarantine * (1 << std::min(q.times, 6)), kLongestQuarantine);
  q.until = now_ + length;
  ++q.times;
  q.why =
      fmt::format("failed {} of its last {} tasks of '{}' while the other workers failed {} of {}",
                  o.failed(), o.seen, c.row.spec.name, others_failed, others_seen);
  ++counters_.quarantines_total;
  o = {};  // judged afresh after the quarantine
  diag::warning("worker {} quarantined for {} s: {}", w.row.id,
                std::chrono::duration_cast<std::chrono::seconds>(length).count(), q.why);
}

int Scheduler::allowance(const Worker& w, const Campaign& c) const {
  auto mine = outcomes_.find(w.row.id);
  if (mine == outcomes_.end()) return kFirstAllowance;
  auto it = mine->second.find(c.row.id);
  if (it == mine->second.end()) return kFirstAllowance;
  const Outcomes& o = it->second;
  if (o.seen == Outcomes::kWindow && 2 * o.failed() < o.seen) return INT_MAX;
  return kFirstAllowance + 2 * (o.seen - o.failed());
}

bool Scheduler::another_worker_for(const Worker& w, const Campaign& c) const {
  for (const auto& [conn, other] : workers_)
    if (&other != &w && !other.draining && !quarantined(other) && may_work_on(other, c) &&
        (other.row.platform != "wasm32" || !c.row.spec.kernel_wasm.empty()))
      return true;
  return false;
}

bool Scheduler::quarantined(const Worker& w) const {
  auto it = quarantines_.find(w.row.id);
  return it != quarantines_.end() && it->second.until > now_;
}

void Scheduler::end_quarantines(Clock::time_point now) {
  for (auto& [id, q] : quarantines_) {
    if (q.until == Clock::time_point{} || q.until > now) continue;
    q.until = {};  // kept: the next quarantine is longer
    diag::info("worker {}: quarantine over", id);
    poke_all_ = true;
  }
}

}  // namespace w::pool
