// Checkpoints of coupled runs (w-protocol(7) "Coupled checkpoints").
//
// Each member's checkpoints come numbered by their worker (1, 2, ... from the
// run's start, a restored run going on from the step it restored). Members
// save at a common step after a barrier, each on its own worker, so their
// states of one step arrive at different times: they wait here, by rank and
// step, until every member has saved that step. That step's states, packed
// as {"step": N, "ranks": [bin, ...]} in rank order, replace the task's
// stored checkpoint, the same column an ordinary task's state goes to, so a
// pool restart keeps it too. A run that fails starts again with each member
// given its own state of that step.
#include <fmt/format.h>

#include "scheduler.h"
#include "w/diag.h"
#include "w/msgpack.h"

namespace w::pool {
namespace {

constexpr size_t kKeptPerRank = 3;                 // steps a member may be ahead of the slowest
constexpr size_t kMaxRunBytes = size_t{64} << 20;  // states waiting, and one packed step

std::string pack(int64_t step, const std::vector<std::map<int64_t, std::string>>& saved) {
  std::string ranks;
  mp::Packer p(ranks);
  p.array(static_cast<uint32_t>(saved.size()));
  for (const auto& by_step : saved) {
    const std::string& state = by_step.at(step);
    p.bin(state.data(), state.size());
  }
  return mp::MapBuilder().integer("step", step).raw("ranks", ranks).done();
}

}  // namespace

Status Scheduler::member_checkpoint(Worker& w, const proto::Checkpoint& m) {
  const int rank = *m.rank;
  auto held = w.members.find({m.task, rank});
  auto g = held == w.members.end() ? groups_.end() : groups_.find(held->second);
  // Only the worker holding the member may save its state, and only forward.
  if (g == groups_.end() || static_cast<size_t>(rank) >= g->second.saved.size() ||
      m.step <= g->second.common) {
    ++counters_.checkpoints_ignored;
    return {};
  }
  GroupRun& run = g->second;
  auto& mine = run.saved[static_cast<size_t>(rank)];
  auto old = mine.find(m.step);
  const size_t replaced = old == mine.end() ? 0 : old->second.size();
  // The bound is checked before the state is copied: members whose states
  // outgrow it are run without them.
  if (run.saved_bytes - replaced + m.data.size() > kMaxRunBytes) {
    diag::warning("group run {}: members' checkpoints over {} MiB: not kept", run.id,
                  kMaxRunBytes >> 20);
    for (auto& by_step : run.saved) by_step.clear();
    run.saved_bytes = 0;
    ++counters_.checkpoints_ignored;
    return {};
  }
  run.saved_bytes = run.saved_bytes - replaced + m.data.size();
  mine[m.step] = std::string(m.data);
  while (mine.size() > kKeptPerRank) {
    run.saved_bytes -= mine.begin()->second.size();
    mine.erase(mine.begin());
  }
  // The latest step every member has saved.
  int64_t step = 0;
  for (auto it = run.saved[0].rbegin(); it != run.saved[0].rend() && step == 0; ++it) {
    bool all = true;
    for (const auto& by_step : run.saved) all = all && by_step.count(it->first);
    if (all) step = it->first;
  }
  if (step == 0) return {};
  W_RETURN_IF_ERROR(store_.save_checkpoint(m.task, pack(step, run.saved)));
  checkpointed_.insert(m.task);
  ++counters_.checkpoints_total;
  run.common = step;
  for (auto& by_step : run.saved)
    while (!by_step.empty() && by_step.begin()->first <= step) {
      run.saved_bytes -= by_step.begin()->second.size();
      by_step.erase(by_step.begin());
    }
  diag::debug("group run {}: every member saved step {}", run.id, step);
  return {};
}

std::vector<std::string> Scheduler::member_restore(int64_t task, int k, int64_t& step) {
  step = 0;
  if (checkpointed_.empty() || !checkpointed_.count(task)) return {};
  auto stored = store_.load_checkpoint(task);
  if (!stored.ok()) {
    checkpointed_.erase(task);
    return {};
  }
  // What this pool packed; anything else (a state from before the campaign
  // was coupled cannot be: the kind is fixed) starts afresh.
  auto view = mp::MapView::parse(*stored);
  std::vector<std::string_view> ranks;
  auto saved_step = view.ok() ? view->integer("step", 0) : Result<int64_t>(int64_t{0});
  if (!view.ok() || !saved_step.ok() || *saved_step <= 0 ||
      !mp::decode_array(view->raw("ranks"), ranks) || ranks.size() != static_cast<size_t>(k)) {
    diag::warning("task {}: its stored checkpoint is not one of a coupled run: starting afresh",
                  task);
    return {};
  }
  std::vector<std::string> out;
  for (std::string_view raw : ranks) {
    std::string_view state;
    if (!mp::decode_str(raw, state)) return {};
    out.emplace_back(state);
  }
  step = *saved_step;
  diag::info("task {}: its group run resumes from step {}", task, step);
  return out;
}

}  // namespace w::pool
