// The pool's scheduler: campaigns, their queues, leases, prefetch, group
// runs, replicas and their quorum, and quarantine, as plain data driven by
// events. It owns no socket and no clock: PoolServer decodes a message,
// calls the event with the time it read once (tests pass a fake one), and
// sends what the event decided (decisions.h, take_decisions()). Durable
// state goes through the Store interface (store.h), whose open transaction
// the caller commits.
//
// Scheduling: each worker is bound to one campaign at a time and kept
// `slots + prefetch` tasks deep, prefetch growing as its tasks get shorter,
// so no slot waits on a round trip. A task handed to a worker is leased with
// a deadline; a lost worker or a missed deadline puts it back at the front
// of its campaign's queue. Queues hold a bounded window of tasks loaded from
// the store, so a campaign of any size costs constant memory. Coupled
// campaigns (`group` K > 1) are gang-scheduled instead, without prefetch:
// each task runs as K members leased together on K free slots (groups.cc).
// Replicated campaigns (replicas.cc), quarantine (quarantine.cc) and the
// speculative copies at the end of a campaign (speculate.cc) are rules over
// the same state.
//
// REQUIRES: used from one thread (the server's).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../proto/worker_messages.h"
#include "decisions.h"
#include "quorum.h"
#include "store.h"
#include "w/net.h"

namespace w::pool {

using Clock = std::chrono::steady_clock;

/// Counters since start, for /metrics.
struct SchedulerCounters {
  uint64_t results_total = 0, failures_total = 0, requeues_total = 0;
  uint64_t checkpoints_total = 0, checkpoints_ignored = 0;
  uint64_t votes_total = 0, disagreements_total = 0, no_quorum_total = 0;
  uint64_t group_runs_total = 0, group_aborts_total = 0;
  uint64_t quarantines_total = 0;
  // Speculation (speculate.cc): copies handed out, copies whose result came
  // first, and results of a task's other copy that came too late.
  uint64_t speculative_copies_total = 0, speculative_wins_total = 0;
  uint64_t speculative_discarded_total = 0;
  // Results not stored: their task was decided already (a late or second
  // copy, or another pool's result first).
  uint64_t results_discarded_total = 0;
  // Shared stores (shared.cc): claimed tasks handed back unrun.
  uint64_t tasks_released_total = 0;
};

class Scheduler {
 public:
  // A task of a replicated campaign, from its first replica handed out
  // until every replica is back (replicas.cc). Its votes are also in the
  // store; holders are not (leases live in memory only).
  struct Replicated {
    TaskRow task;
    std::vector<std::string> holders;  // workers holding one of its leases now
    std::vector<Vote> votes;
    int want = 0;             // further replicas to hand out now
    bool in_wanting = false;  // listed in Campaign::wanting
    bool finished = false;    // accepted or failed; kept to judge late replicas
    bool has_accepted = false;
    Vote accepted;  // the first vote for the accepted value
    // Since when it has wanted a replica that no connected worker may take
    // (every one has had its part): past the campaign's timeout it fails.
    Clock::time_point starved_since{};
  };
  struct Campaign {
    CampaignRow row;
    std::deque<TaskRow> ready;     // loaded from the store, not yet leased
    std::deque<TaskRow> requeued;  // came back from a lost lease or a failed attempt
    int64_t cursor = 0;            // highest task id loaded from the store
    bool store_exhausted = false;  // nothing queued beyond cursor
    int64_t leased = 0;
    int64_t pending = 0;   // results waiting for store_results()
    int64_t bound = 0;     // workers bound to it (Worker::campaign)
    double done_rate = 0;  // results per second, smoothed
    int64_t done_last_tick = 0;
    Clock::time_point last_taken{};  // a task of its window last went to a worker
    // Shared stores: how many tasks the next claim takes, and when the last
    // one was made (take_task() sizes claims to ~kClaimWindow of work).
    int claim = 0;
    Clock::time_point claimed_at{};
    // Replicated campaigns only: open tasks by id, and those that want more
    // replicas, oldest first (one entry per task, see Replicated::in_wanting).
    std::unordered_map<int64_t, Replicated> open;
    std::deque<int64_t> wanting;
    // Requeued tasks that failed: the workers they failed on, so a retry
    // goes to another worker when there is one (BOINC: a job is not sent
    // to the same host twice). Dropped when the task ends.
    std::unordered_map<int64_t, std::vector<std::string>> failed_on;
    // Tasks that got a speculative copy (speculate.cc): the connections that
    // run it now, the original's first. An entry lives until the task is
    // decided or back in the queue, so a task gets one copy per dispatch.
    std::unordered_map<int64_t, std::vector<net::ConnId>> copied;
    bool replicated() const { return row.spec.replicas > 1; }
    bool grouped() const { return row.spec.group > 1; }
    bool has_work() const {
      return !ready.empty() || !requeued.empty() || !store_exhausted || !wanting.empty();
    }
    bool complete() const { return row.done + row.failed >= row.total; }
    /// Copies of its last running tasks may run on idle slots.
    bool speculates() const { return row.spec.speculate && !replicated() && !grouped(); }
  };
  struct Lease {
    TaskRow task;
    Clock::time_point deadline;
    Clock::time_point since{};  // when it was handed out: the oldest is copied first
    bool copy = false;          // a speculative copy of a task another worker runs
  };
  // A worker's last outcomes on one campaign (quarantine.cc).
  struct Outcomes {
    static constexpr int kWindow = 32;
    uint32_t failed_bits = 0;  // bit i: the i-th latest outcome failed
    int seen = 0;              // outcomes in the window, up to kWindow
    int failed() const;
  };
  // A worker that failed far more than the others on a campaign gets no
  // tasks until `until`; each quarantine doubles the next one's length.
  struct Quarantine {
    Clock::time_point until{};
    int times = 0;
    std::string why;
  };
  /// One per connected worker (after hello), freed when it leaves.
  struct Worker {
    net::ConnId conn = 0;
    WorkerRow row;
    int64_t campaign = 0;  // bound campaign; 0 = none
    std::unordered_map<int64_t, Lease> leases;
    // Members of group runs it holds: (task, rank) -> group run id.
    std::map<std::pair<int64_t, int>, std::string> members;
    Clock::time_point last_heard;
    double avg_ms = -1;
    double load = -1;  // its last heartbeat's load and rss; -1 = unknown
    int64_t rss = -1;
    bool draining = false;
    bool closing = false;  // the pool is closing its connection: it gets nothing more
    bool coupled = true;   // hello's `coupled`: may run members of group runs
    std::string scope;     // the one campaign its capability is for; "" = any
    // Why the pool is closing its connection, when the worker broke the
    // protocol: its leases then fail (an attempt each) instead of returning.
    std::string violation;
    // Copies it still runs of tasks the other copy decided: their results
    // are ignored; they hold a slot until then (or their lease's deadline).
    std::unordered_map<int64_t, Clock::time_point> lost;
    int busy() const { return static_cast<int>(leases.size() + members.size() + lost.size()); }
  };
  // One dispatch of a coupled campaign's task: K members started together
  // (groups.cc). Lives in memory only, like leases.
  struct GroupMember {
    net::ConnId conn = 0;
    std::string worker;
    bool done = false;
    std::string output;  // msgpack; empty = nil
    double ms = 0;
  };
  struct GroupRun {
    std::string id;
    TaskRow task;
    std::vector<GroupMember> members;  // by rank
    Clock::time_point deadline;
    int done = 0;
    // Members' checkpoints by rank and step, until every member has saved
    // that step; `common` is the latest step all saved (stored, packed).
    std::vector<std::map<int64_t, std::string>> saved;
    size_t saved_bytes = 0;
    int64_t common = 0;
  };

  /// The wall clock (unix seconds) of the records the scheduler stamps
  /// (a flag's evidence); the rules themselves run on the events' `now`.
  using UnixClock = std::function<int64_t()>;

  /// `worker_timeout`: seconds a worker may stay silent before it is dropped.
  /// `unix_clock` defaults to the system's; tests give a fixed one.
  Scheduler(Store& store, double worker_timeout, UnixClock unix_clock = {});
  /// Reads campaigns, flagged workers and checkpointed tasks from the
  /// store; drops campaigns a submit left empty (the caller commits).
  Status load();

  // Events. Each takes the time of the event (`now`); what it decides for
  // the workers' connections waits in take_decisions().

  /// A worker said hello: `row` as it announced itself (id, name, platform,
  /// slots, score, last_seen); a known id gets its stored flag and counts.
  /// `scope`: the one campaign its capability is for ("" = any).
  void worker_joined(net::ConnId conn, WorkerRow row, bool coupled, std::string scope,
                     Clock::time_point now);
  /// Its connection closed: members fail, leases return (or fail, after a
  /// protocol violation); `unix_now` stamps its stored last_seen.
  void worker_left(net::ConnId conn, Clock::time_point now, int64_t unix_now);
  /// Any message from a worker: it is alive.
  void heard(net::ConnId conn, Clock::time_point now);
  /// What a worker's heartbeat says of its host: shown, never decided on.
  void heartbeat(net::ConnId conn, double load, int64_t rss);
  /// The worker's connection closes for breaking the protocol.
  void violation(net::ConnId conn, const std::string& why);
  Status results(net::ConnId conn, const proto::Results& m, Clock::time_point now);
  Status checkpoint(net::ConnId conn, const proto::Checkpoint& m, Clock::time_point now);
  /// `bye`: the worker drains; it gets no more tasks and returns those listed.
  void drain(net::ConnId conn, const proto::Bye& m, Clock::time_point now);
  /// Every 250 ms: silent workers, expired leases and group runs, starved
  /// replicas, ended quarantines, completion rates.
  void tick(Clock::time_point now);
  /// Every second or so, on a shared store (Store::shared(); else nothing):
  /// reads back what the other pools did (campaigns created, paused,
  /// deleted; tasks added; counts) and hands back claimed tasks this pool
  /// has no worker for (shared.cc).
  Status sync(Clock::time_point now);

  // Campaigns (what clients ask for; requests.cc checks and stores them).
  /// A campaign just created in the store (it has no task yet).
  void campaign_created(CampaignRow row);
  /// `n` tasks were added to the store for campaign `id`.
  void tasks_added(int64_t id, int64_t n, Clock::time_point now);
  /// pause, resume or cancel: stores the state and schedules by it.
  Status set_state(int64_t id, const std::string& state, Clock::time_point now);
  /// Deletes the campaign: its runs abort, its leases are dropped.
  Status delete_campaign(int64_t id, Clock::time_point now);
  /// Drops a campaign that holds no task (a submit that stored nothing).
  void drop_empty(int64_t id);
  /// Forgets a campaign deleted from the store: its runs abort, its leases
  /// are dropped (what delete_campaign() does, but for the store write).
  void forget_campaign(int64_t id);
  /// Lifts a worker's flag (wpool workers unflag).
  Status unflag(const std::string& worker, Clock::time_point now);

  /// What the events decided since the last call, in order.
  std::vector<Decision> take_decisions();

  /// Stores the results that wait (one complete_tasks()) and counts those
  /// that were new. Results of unreplicated tasks wait for company (a
  /// statement per result cost the store more than the tasks did): the
  /// server calls this before it commits and before any event that reads
  /// or writes the store, so the store keeps the order results came in.
  void store_results();
  /// Results wait for store_results().
  bool results_pending() const { return !batch_.empty(); }
  /// A campaign's last task here has its result since the last call: the
  /// server commits at once rather than after its delay, so a client (or
  /// another pool) sees the campaign end without waiting for it.
  bool take_drained() { return std::exchange(drained_, false); }

  // Views, for status and metrics.
  const std::map<int64_t, Campaign>& campaigns() const { return campaigns_; }
  /// The campaign named `name`; nullptr if none.
  const Campaign* campaign(const std::string& name) const;
  const Campaign* campaign(int64_t id) const;
  const std::unordered_map<net::ConnId, Worker>& workers() const { return workers_; }
  const Worker* worker(net::ConnId conn) const;
  const std::unordered_map<std::string, GroupRun>& groups() const { return groups_; }
  const std::unordered_map<std::string, Quarantine>& quarantines() const { return quarantines_; }
  size_t flagged_count() const { return flagged_.size(); }
  size_t checkpointed_count() const { return checkpointed_.size(); }
  const SchedulerCounters& counters() const { return counters_; }
  /// Tasks of `c` out on workers now (replicated: tasks not yet decided).
  int64_t in_flight(const Campaign& c) const;

 private:
  Worker* find_worker(net::ConnId conn);
  void decide(net::ConnId conn, decltype(Decision::action) action);
  bool may_work_on(const Worker& w, const Campaign& c) const;
  Status load_checkpoints();

  // Quarantine of workers that fail too much (quarantine.cc).
  /// Records a finished task of `c` on `w`; a failure may quarantine `w`.
  void record_outcome(Worker& w, const Campaign& c, bool failed);
  bool quarantined(const Worker& w) const;
  /// Most tasks of `c` that `w` may hold now: a worker earns its slots on
  /// a campaign by returning results (see quarantine.cc).
  int allowance(const Worker& w, const Campaign& c) const;
  /// True if a connected worker other than `w` may take tasks of `c`.
  bool another_worker_for(const Worker& w, const Campaign& c) const;
  /// Lets quarantines that ran out end (their workers are topped up).
  void end_quarantines(Clock::time_point now);

  /// Hands back the tasks of `c`'s window no worker took for a while.
  void release_unused(Campaign& c);

  // Scheduling (scheduler.cc).
  void top_up(Worker& w);
  void top_up_all();
  Campaign* pick_campaign(const Worker& w, int64_t skip = 0);
  /// The next task of `c` for `w`: a requeued one first, unless it failed
  /// on `w` and another worker works on `c`. `wanted`: how many the caller
  /// is about to take in a row (what a shared store claims at once).
  bool take_task(Campaign& c, TaskRow& task, const Worker* worker = nullptr, int wanted = 1);
  int prefetch(const Worker& w, const Campaign& c) const;
  void release_leases(Worker& w, const std::string& why);
  /// The lease of `task` on `w` ends with this outcome. A result (ok) of
  /// an unreplicated task joins the batch that store_results() stores (a
  /// copy of `output`); any other outcome stores that batch first.
  void finish_task(Worker& w, int64_t task, bool ok, std::string_view output,
                   const std::string& error, double ms);
  /// A lease ends without a result (worker lost, bye): the task goes back.
  /// `conn`: the holder's connection (0 for a replica: replicas are never copied).
  void return_lease(Campaign& c, Lease&& lease, const std::string& worker, net::ConnId conn = 0);
  bool send_tasks(Worker& w, Campaign& c, int want);
  /// After results or lost leases: tops up every worker if a replica is
  /// wanted (any of them may be the one to take it), else just `w`.
  void top_up_after(Worker* w);
  /// The task is done or failed for good: drops what was kept for it.
  void forget_task(int64_t task);

  // Speculation at the end of campaigns (speculate.cc).
  /// Hands copies of running tasks to idle slots, for every campaign whose
  /// queue is empty: `only`'s slots, or (null) every worker's. A result
  /// frees a slot of its own worker only, so looking at that one keeps the
  /// end of a campaign of 10,000 workers from costing O(workers) per
  /// result; the tick looks at all of them.
  void speculate(Worker* only = nullptr);
  void speculate(Campaign& c, Worker* only);
  /// True if `w` may take a copy of a task of `c` now (an idle slot).
  bool may_copy(const Worker& w, const Campaign& c) const;
  /// `conn`'s lease of `task` ends undecided (failure, expiry, loss): true
  /// if the task's other copy still runs it, so nothing is counted or queued.
  bool drop_copy(Campaign& c, int64_t task, net::ConnId conn);
  /// `w` decided `task` (its result is stored): the other copy's result
  /// will be ignored; a win if `w`'s was the copy.
  void end_copies(Worker& w, Campaign& c, int64_t task, bool was_copy);
  /// Drops the ignored copies whose lease deadline has passed.
  void expire_lost(Worker& w);

  // Coupled campaigns (groups.cc).
  /// Workers that may run members of `c` now, with their free slots.
  std::vector<std::pair<Worker*, int>> group_candidates(Campaign& c);
  /// Leases group runs of `c` while K free slots exist among `candidates`.
  void schedule_groups(Campaign& c, std::vector<std::pair<Worker*, int>> candidates);
  /// Slots of all connected workers that may run `c`, busy or not.
  int64_t group_capacity(const Campaign& c) const;
  /// A member's result; false if `w` holds no such member (late or aborted).
  bool finish_member(Worker& w, int64_t task, int rank, const std::string& group, bool ok,
                     std::string_view output, const std::string& error, double ms);
  /// Ends a group run that failed: aborts the other members, counts one
  /// attempt (when `count`) and queues the task again.
  void fail_group(const std::string& group, int rank, const std::string& why, bool count);
  /// A lost or draining worker's members: each of their runs fails.
  void release_members(Worker& w, const std::string& why, bool count);
  void check_group_deadlines();
  /// Drops the runs of a deleted campaign, aborting their members.
  void drop_groups(int64_t campaign);
  std::string new_group_id(const TaskRow& task);
  /// A member's checkpoint (w-protocol(7) "Coupled checkpoints").
  Status member_checkpoint(Worker& w, const proto::Checkpoint& m);
  /// The members' states of the step a failed run of `task` saved last, by
  /// rank (empty: start afresh), and that step.
  std::vector<std::string> member_restore(int64_t task, int k, int64_t& step);
  /// Decides `campaign` when `w` is not yet bound to `c`.
  void bind(Worker& w, const Campaign& c);

  // Replicas (replicas.cc).
  void take_replicas(Campaign& c, const Worker& w, int want, std::vector<TaskRow>& out);
  void adopt_votes(Campaign& c, std::vector<TaskRow>& loaded);
  void finish_replica(Worker& w, Campaign& c, int64_t task, bool ok, std::string_view output,
                      const std::string& error, double ms);
  /// Accepts, fails or asks for more replicas; `urgent` puts a wanted
  /// replica first in line (it replaces one that was lost or failed).
  void judge_task(Campaign& c, Replicated& r, bool urgent);
  void end_task(Campaign& c, Replicated& r);
  void end_task(Campaign& c, int64_t task);
  void close_if_done(Campaign& c, int64_t task);
  /// Fails tasks that have wanted a replica no connected worker may take
  /// for longer than their campaign's timeout ("no quorum: ...").
  void check_starved(Clock::time_point now);
  /// Tasks of `c` that want replicas no worker here can give go back to a
  /// shared store, votes and all, for another pool to claim.
  void hand_back(Campaign& c, const std::vector<int64_t>& tasks);
  Status load_flagged();
  /// Flags `worker` (every connection of it): it returned `output` for
  /// `task` of `c`, and the quorum accepted `accepted`.
  void flag(const std::string& worker, const Campaign& c, int64_t task, std::string_view output,
            std::string_view accepted);
  void restore_worker(WorkerRow& row);
  Worker* live_worker(const std::string& id);
  QuorumRule quorum_rule(const Campaign& c) const;

  Store& store_;
  double worker_timeout_;
  UnixClock unix_clock_;
  // The time of the event being handled: the rules read only this.
  Clock::time_point now_{};
  std::vector<Decision> decisions_;  // decided, not yet taken
  std::map<int64_t, Campaign> campaigns_;
  std::map<std::string, int64_t> by_name_;
  std::unordered_map<net::ConnId, Worker> workers_;
  SchedulerCounters counters_;
  // Tasks with a stored checkpoint: lets the hot path skip the store when
  // (as for most campaigns) there are none.
  std::unordered_set<int64_t> checkpointed_;
  // Workers that disagreed with a quorum, connected or not: their votes no
  // longer count and they get no replicas.
  std::unordered_set<std::string> flagged_;
  bool poke_all_ = false;                             // a replica is wanted: top up every worker
  bool drained_ = false;                              // see take_drained()
  std::unordered_map<std::string, GroupRun> groups_;  // running group runs by id
  std::unordered_map<std::string, Quarantine> quarantines_;  // by worker id
  // Each worker's last outcomes per campaign, by worker id (so they survive
  // a reconnect) and campaign id.
  std::unordered_map<std::string, std::unordered_map<int64_t, Outcomes>> outcomes_;
  // Results waiting for store_results(), in the order they came: owned
  // copies (the message and even the worker may be gone when they are
  // stored). Bounded: past kMaxBatch results or kMaxBatchBytes of output
  // they are stored at once.
  struct BatchedResult {
    int64_t task = 0;
    int64_t campaign = 0;
    net::ConnId conn = 0;
    std::string output, worker, platform;
    double ms = 0;
  };
  static constexpr size_t kMaxBatch = 4096;
  static constexpr size_t kMaxBatchBytes = 4u << 20;
  std::vector<BatchedResult> batch_;
  size_t batch_bytes_ = 0;
};

}  // namespace w::pool
