// The pool server: campaigns, the scheduler and its leases, over one
// net::Server. Workers connect on /worker, clients (wpool submit, status,
// ...) on /client; see w-protocol(7) for the messages.
//
// Scheduling: each worker is bound to one campaign at a time and kept
// `slots + prefetch` tasks deep, prefetch growing as its tasks get shorter,
// so no slot waits on a round trip. A task handed to a worker is leased with
// a deadline; a lost worker or a missed deadline puts it back at the front
// of its campaign's queue. Queues hold a bounded window of tasks loaded from
// the store, so a campaign of any size costs constant memory. Coupled
// campaigns (`group` K > 1) are gang-scheduled instead, without prefetch:
// each task runs as K members leased together on K free slots (groups.cc).
//
// Durability: state changes go into the store's open transaction; a commit
// follows at the end of the loop turn when an acknowledgement waits for it
// (`after_commit_`), else within kCommitDelayMs, and before any client
// request or HTTP query is answered (observe()), so nothing a client has
// seen can be lost.
//
// REQUIRES: everything runs on the server thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "../proto/client_messages.h"
#include "../proto/worker_messages.h"
#include "decisions.h"
#include "history.h"
#include "quorum.h"
#include "store.h"
#include "w/msgpack.h"
#include "w/net.h"
#include "w/pool.h"

namespace w::pool {

using Clock = std::chrono::steady_clock;

/// A campaign's state in the one vocabulary every view uses (w-protocol(7)
/// "Campaign states"): running, paused, done or cancelled.
const char* campaign_state(const CampaignRow& row);

class PoolServer : public net::Handler {
 public:
  PoolServer(const ServeOptions& options, Store& store);
  Status load();  ///< reads campaigns and counts from the store
  void attach(net::Server& server);

  net::HttpResponse on_http(const net::HttpRequest& request) override;
  bool on_ws_open(net::ConnId id, const net::HttpRequest& request, int& refusal) override;
  void on_ws_message(net::ConnId id, std::string_view data, bool binary) override;
  void on_ws_close(net::ConnId id) override;
  void on_ws_too_large(net::ConnId id, size_t limit) override;

 private:
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
    int64_t bound = 0;     // workers bound to it (Worker::campaign)
    double done_rate = 0;  // results per second, smoothed
    int64_t done_last_tick = 0;
    // Replicated campaigns only: open tasks by id, and those that want more
    // replicas, oldest first (one entry per task, see Replicated::in_wanting).
    std::unordered_map<int64_t, Replicated> open;
    std::deque<int64_t> wanting;
    // Requeued tasks that failed: the workers they failed on, so a retry
    // goes to another worker when there is one (BOINC: a job is not sent
    // to the same host twice). Dropped when the task ends.
    std::unordered_map<int64_t, std::vector<std::string>> failed_on;
    bool replicated() const { return row.spec.replicas > 1; }
    bool grouped() const { return row.spec.group > 1; }
    bool has_work() const {
      return !ready.empty() || !requeued.empty() || !store_exhausted || !wanting.empty();
    }
    bool complete() const { return row.done + row.failed >= row.total; }
  };
  struct Lease {
    TaskRow task;
    Clock::time_point deadline;
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
    bool coupled = true;  // hello's `coupled`: may run members of group runs
    // Why the pool is closing its connection, when the worker broke the
    // protocol: its leases then fail (an attempt each) instead of returning.
    std::string violation;
    int busy() const { return static_cast<int>(leases.size() + members.size()); }
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
  };

  // Messages. Every message is decoded by proto/ (one checked decoder per
  // type) before a handler sees it; one that does not decode is refused.
  void reply(net::ConnId id, const std::string& message);
  /// Records what the scheduling code decided for `conn`; sent by
  /// send_decisions() at the end of the event, in order.
  void decide(net::ConnId conn, decltype(Decision::action) action);
  void send_decisions();
  void reply_after_commit(net::ConnId id, std::string message);
  /// Answers `error` (with `code` on /client) and closes the connection.
  void refuse(net::ConnId id, const std::string& why, std::string_view code = {});
  void on_worker_message(net::ConnId id, const proto::FromWorker& m);
  void on_worker_hello(net::ConnId id, const proto::WorkerHello& hello);
  void on_bye(Worker& w, const proto::Bye& m);
  void on_client_message(net::ConnId id, const proto::FromClient& m);
  /// Handles one request of a hello'd client; its answer, or why it failed.
  Status on_request(net::ConnId id, const proto::FromClient& m);
  /// The identity a worker's flag, counts and quarantine belong to.
  std::string worker_identity(net::ConnId id, const proto::WorkerHello& hello) const;

  // Capabilities (auth.cc).
  /// Checks a hello's capability or key and the right `need`; keeps the grant.
  Status authenticate(net::ConnId id, const std::string& key, const std::string& cap,
                      uint32_t need);
  /// Ok if the connection's grant holds `need` on `campaign` ("" = unscoped).
  Status permit(net::ConnId id, uint32_t need, std::string_view campaign) const;
  /// The right and campaign a client request needs, checked with permit().
  Status permit_request(net::ConnId id, const proto::FromClient& m) const;
  /// `asked`, or the one campaign a scoped grant may see when none is asked.
  std::string visible_campaign(net::ConnId id, const std::string& asked) const;
  /// The campaign a connection's grant is scoped to; "" when it is not.
  std::string scope_of(net::ConnId id) const;
  /// An HTTP request's scope ("" = every campaign) if its ?cap= (or ?key=)
  /// holds one of the rights `any_of`; Denied otherwise. Open pools: "".
  Result<std::string> http_scope(const net::HttpRequest& request, uint32_t any_of);
  /// True if kernel `sha` runs a campaign of `scope` ("" = any kernel).
  bool kernel_in_scope(const std::string& sha, const std::string& scope) const;
  /// Ids of the workers a capability scoped to `scope` may see: those ever
  /// given its tasks (stored) and those bound to it now.
  std::unordered_set<std::string> scope_workers(const std::string& scope) const;
  bool may_work_on(const Worker& w, const Campaign& c) const;
  Status on_results(Worker& w, const proto::Results& m);
  Status on_checkpoint(Worker& w, const proto::Checkpoint& m);
  Status on_kernel_put(net::ConnId id, const proto::KernelPut& m);
  Status on_open(net::ConnId id, const proto::Open& m);
  Status on_datasets(net::ConnId id, const proto::Datasets& m);
  Status on_results_query(net::ConnId id, const proto::ResultsQuery& m);
  Status on_control(net::ConnId id, const proto::Control& m);
  Status on_kernels(net::ConnId id);
  /// Drops `campaign` if it holds no task and no client is submitting to
  /// it: a submit that stored nothing leaves no campaign behind.
  void drop_if_empty(int64_t campaign);
  /// Why a cancelled campaign refuses datasets.
  Status cancelled_error(const std::string& name) const;
  Status on_unflag(net::ConnId id, const proto::Unflag& m);

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

  // Scheduling (scheduler.cc).
  void top_up(Worker& w);
  void top_up_all();
  Campaign* pick_campaign(const Worker& w, int64_t skip = 0);
  /// The next task of `c` for `w`: a requeued one first, unless it failed
  /// on `w` and another worker works on `c`.
  bool take_task(Campaign& c, TaskRow& task, const Worker* worker = nullptr);
  int prefetch(const Worker& w, const Campaign& c) const;
  void release_leases(Worker& w, const std::string& why);
  /// Every 250 ms: silent workers, expired leases and runs, quarantines.
  void check_deadlines(Clock::time_point now);
  void finish_task(Worker& w, int64_t task, bool ok, std::string_view output,
                   const std::string& error, double ms);
  /// A lease ends without a result (worker lost, bye): the task goes back.
  void return_lease(Campaign& c, Lease&& lease, const std::string& worker);
  bool send_tasks(Worker& w, Campaign& c, int want);
  /// After results or lost leases: tops up every worker if a replica is
  /// wanted (any of them may be the one to take it), else just `w`.
  void top_up_after(Worker* w);

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
  /// Sends `campaign` when `w` is not yet bound to `c`.
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
  Status load_flagged();
  /// Flags `worker` (every connection of it): it returned `output` for
  /// `task` of `c`, and the quorum accepted `accepted`.
  void flag(const std::string& worker, const Campaign& c, int64_t task, std::string_view output,
            std::string_view accepted);
  void restore_worker(WorkerRow& row);
  Worker* live_worker(const std::string& id);
  int64_t in_flight(const Campaign& c) const;
  QuorumRule quorum_rule(const Campaign& c) const;
  /// The task is done or failed for good: drops what was kept for it.
  void forget_task(int64_t task);

  // Status (api.cc). `scope`: the one campaign a scoped capability may
  // see, "" for all.
  std::string status_json(const std::string& scope = {}) const;
  std::string failures_json(const std::string& scope) const;  ///< GET /api/failures
  std::string metrics_text() const;
  std::string history_json(const std::string& scope) const;  ///< GET /api/history
  void sample_history();                                      ///< every --history-interval
  std::string status_message(const std::string& campaign, const std::string& scope) const;
  std::string workers_message(const std::string& scope) const;
  net::HttpResponse kernel_http(const net::HttpRequest& request);
  /// null, or why `worker` is (or was last) quarantined and for how long.
  nlohmann::json quarantine_json(const std::string& worker) const;
  /// The last disagreements a flagged worker was flagged for.
  nlohmann::json flag_evidence_json(const std::string& worker) const;

  void schedule_commit();
  /// Commits now if anything is pending: before a client sees the state.
  void observe();
  void commit();
  Status load_checkpoints();

  ServeOptions options_;
  // The time of the event being handled: PoolServer reads the clock once
  // per event (message, close, tick) and the scheduling code reads only this.
  Clock::time_point now_{};
  Store& store_;
  net::Server* server_ = nullptr;
  std::map<int64_t, Campaign> campaigns_;
  std::map<std::string, int64_t> by_name_;
  std::unordered_map<net::ConnId, Worker> workers_;
  std::unordered_map<net::ConnId, bool> clients_;  // connected client sessions (true once hello'd)
  std::unordered_map<net::ConnId, bool> pending_worker_;  // /worker connections before hello
  std::vector<std::pair<net::ConnId, std::string>> after_commit_;
  std::vector<Decision> decisions_;  // of the event being handled, not sent yet
  static constexpr int kCommitDelayMs = 100;  // longest a write waits for company
  bool commit_soon_ = false, commit_later_ = false;
  Clock::time_point started_ = Clock::now();
  History history_;
  uint64_t results_total_ = 0, failures_total_ = 0, requeues_total_ = 0, commits_ = 0;
  // Tasks with a stored checkpoint: lets the hot path skip the store when
  // (as for most campaigns) there are none.
  std::unordered_set<int64_t> checkpointed_;
  uint64_t checkpoints_total_ = 0, checkpoints_ignored_ = 0;
  // Workers that disagreed with a quorum, connected or not: their votes no
  // longer count and they get no replicas.
  std::unordered_set<std::string> flagged_;
  bool poke_all_ = false;  // a replica is wanted: top up every worker
  uint64_t votes_total_ = 0, disagreements_total_ = 0, no_quorum_total_ = 0;
  std::unordered_map<std::string, GroupRun> groups_;  // running group runs by id
  uint64_t group_runs_total_ = 0, group_aborts_total_ = 0;
  std::unordered_map<std::string, Quarantine> quarantines_;  // by worker id
  // Each worker's last outcomes per campaign, by worker id (so they survive
  // a reconnect) and campaign id.
  std::unordered_map<std::string, std::unordered_map<int64_t, Outcomes>> outcomes_;
  uint64_t quarantines_total_ = 0;
  cap::Verifier verifier_;                                   // the --secret and --key
  std::unordered_map<net::ConnId, cap::Capability> grants_;  // per hello'd connection
  // What a client connection opened to submit to: datasets it sends to that
  // campaign count under its once-key (resumable submits, requests.cc).
  struct Submitting {
    int64_t campaign = 0;
    std::string once_key;
  };
  std::unordered_map<net::ConnId, Submitting> submitting_;
};

}  // namespace w::pool
