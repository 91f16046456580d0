// The pool's durable state: one SQLite file (WAL), or a PostgreSQL database.
//
// What is stored: kernels (artifacts by sha256), campaigns, tasks (queued,
// done or failed, with attempts and error messages), results, workers.
// Leases are not stored: they live in the scheduler's memory, so after a
// restart every task that is not done or failed is simply queued again.
// A shared store (PostgreSQL) may serve several pools at once: each claims
// the queued tasks it loads, so no two pools hold one task, and a claim
// lasts while its pool keeps itself alive (keepalive()): the tasks of a
// pool that died go to the others once its claims lapse.
//
// Writes go into one open transaction that the server commits for many
// writes at once (group commit, pool_server.h); nothing is acknowledged to
// a client before the commit that holds it. REQUIRES: used from the server's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "w/status.h"

namespace w::pool {

struct CampaignSpec {
  std::string name;
  std::string kernel_sha;   ///< linux-x86_64 artifact
  std::string kernel_wasm;  ///< wasm32 artifact for browser workers; may be empty
  std::string static_data;  ///< msgpack, may be empty
  int64_t timeout_ms = 60000;
  int max_attempts = 3;
  int replicas = 1;
  int quorum = 1;
  int priority = 0;
  int group = 1;  ///< coupled campaigns: members (ranks) per task run; 1 = not coupled
  /// Replicas: 0 compares results exactly, among workers of one platform;
  /// > 0 compares numbers within this relative difference, across platforms.
  double quorum_tolerance = 0;
  /// The tail of a campaign: once its queue is empty, idle slots run copies
  /// of its oldest running tasks, first result wins (scheduler.h). Never for
  /// replicated or coupled campaigns, whatever this says.
  bool speculate = true;
};

struct CampaignRow {
  int64_t id = 0;
  CampaignSpec spec;
  std::string state;  ///< running, paused, cancelled
  int64_t created = 0;
  int64_t total = 0, done = 0, failed = 0;
};

struct TaskRow {
  int64_t id = 0;
  int64_t campaign = 0;
  int64_t seq = 0;
  std::string input;
  int attempts = 0;
  /// It has a checkpoint: set by a shared store's queued_tasks(), where
  /// another pool may have stored it.
  bool checkpointed = false;
};

struct ResultRow {
  int64_t row = 0;  ///< storage order, for --since
  int64_t task = 0;
  int64_t seq = 0;
  std::string input;
  std::string output;  ///< msgpack; empty when the task failed
  std::string error;   ///< failed tasks: every attempt's error, joined
  std::string worker;
  std::string platform;
  double ms = 0;
};

struct WorkerRow {
  std::string id, name, platform;
  int slots = 0;
  double score = 0;
  int64_t tasks_done = 0, tasks_failed = 0;
  bool flagged = false;
  int64_t last_seen = 0;
  int disagreements = 0;  ///< results that disagreed with an accepted quorum
};

/// Why a worker was flagged: its result of a task against the accepted one.
struct FlagRow {
  std::string worker;
  int64_t task = 0;
  std::string campaign;
  int64_t at = 0;        ///< unix time
  std::string output;    ///< msgpack: what the worker returned
  std::string accepted;  ///< msgpack: what the quorum accepted
};

/// One result for Store::complete_tasks(). The views are the caller's:
/// they must outlive the call.
struct TaskResult {
  int64_t task = 0;
  std::string_view output;  ///< msgpack
  std::string_view worker, platform;
  double ms = 0;
};

/// One replica's result of a task still waiting for its quorum.
struct VoteRow {
  int64_t task = 0;
  std::string worker, platform;
  std::string output;  ///< msgpack, as the worker sent it
  double ms = 0;
};

/// The pool's durable state, whatever holds it: the operations PoolServer
/// uses, implemented by SqliteStore (sqlite_store.h, the default) and
/// PgStore (pg_store.h, PostgreSQL).
///
/// Every write joins the open transaction, begun by the first write after
/// a commit(); reads see the transaction's own writes. A result of false or
/// NotFound is an answer, any other error a failure of the store.
class Store {
 public:
  /// Opens the store at `path`: a PostgreSQL database for a postgresql://
  /// or postgres:// URL or a libpq keyword string (pg_store.h), else a
  /// SQLite file; created (and its schema brought up to date) if needed.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  /// `path` as logs may show it: a PostgreSQL URL or keyword string with
  /// its password replaced by "***"; a file's path as it is.
  static std::string shown(const std::string& path);
  virtual ~Store() = default;
  /// Commits the open transaction (if any writes happened) and starts none:
  /// the next write begins a new one.
  virtual Status commit() = 0;
  /// True while writes wait for a commit().
  virtual bool dirty() const = 0;
  /// True when other pools may write the store at the same time: the
  /// scheduler then reads back what they did (Scheduler::sync()).
  virtual bool shared() const { return false; }
  /// Shared stores: this pool is alive, its claims hold (call every second
  /// or so; they lapse some seconds after the last call). A write.
  virtual Status keepalive() { return {}; }
  /// This pool's number among those sharing the store (0: not shared).
  virtual int64_t pool_id() const { return 0; }
  /// Shared stores: another pool committed a change to campaigns or their
  /// tasks since the last call (a prompt to sync() now). Never blocks.
  virtual bool changed_elsewhere() { return false; }
  /// How many other pools share the store and are alive now.
  virtual Result<int64_t> other_pools() { return int64_t{0}; }

  virtual Status put_kernel(const std::string& sha, const std::string& name,
                            const std::string& platform, const std::string& data) = 0;
  virtual Result<std::string> kernel_data(const std::string& sha) = 0;
  /// Every kernel: sha, name, platform, size.
  virtual Result<std::vector<std::vector<std::string>>> kernels() = 0;

  virtual Result<int64_t> create_campaign(const CampaignSpec& spec) = 0;
  /// Every campaign, with its task counts.
  virtual Result<std::vector<CampaignRow>> campaigns() = 0;
  virtual Status set_campaign_state(int64_t id, const std::string& state) = 0;
  virtual Status delete_campaign(int64_t id) = 0;
  /// Datasets acknowledged so far under (campaign, once-key), recording the
  /// key with 0 if new; -1 for a key an older pool recorded (all of its input).
  virtual Result<int64_t> once_key_acked(int64_t campaign, const std::string& key) = 0;
  /// Counts `count` more datasets stored under (campaign, once-key): call
  /// in the transaction that stores them.
  virtual Status add_acked(int64_t campaign, const std::string& key, int64_t count) = 0;
  /// Records that `worker` was given tasks of `campaign` (once per pair).
  virtual Status add_campaign_worker(int64_t campaign, const std::string& worker) = 0;
  /// The workers ever given tasks of `campaign`.
  virtual Result<std::vector<std::string>> campaign_workers(int64_t campaign) = 0;

  virtual Result<int64_t> next_seq(int64_t campaign) = 0;
  /// Appends one task; returns its id.
  virtual Result<int64_t> add_task(int64_t campaign, int64_t seq, std::string_view input) = 0;
  /// Queued tasks with id > after_id, oldest first. A shared store claims
  /// them for this pool, and skips those another live pool claimed.
  virtual Result<std::vector<TaskRow>> queued_tasks(int64_t campaign, int64_t after_id,
                                                    int limit) = 0;
  /// Hands back tasks queued_tasks() claimed and this pool did not run, so
  /// other pools may take them (shared stores; elsewhere nothing to do).
  /// `for_others`: this pool's queued_tasks() skips them from now on (it
  /// has no worker that can run them; another pool may).
  virtual Status release_tasks(std::span<const int64_t> tasks, bool for_others = false) {
    (void)tasks;
    (void)for_others;
    return {};
  }

  /// Marks the task done and stores its result, once: false if it already
  /// was done or failed (a duplicate or late result).
  virtual Result<bool> complete_task(int64_t task, std::string_view output,
                                     const std::string& worker, const std::string& platform,
                                     double ms) = 0;
  /// complete_task() for each of `results`, in their order: element i of
  /// the answer says whether results[i] was stored (false: its task was
  /// already done or failed, or an earlier element of the batch completed
  /// it). One write for the batch: a worker's message carries hundreds of
  /// results, and on PostgreSQL one round trip each capped the pool at
  /// ~4,000 results/s (pg_store_tasks.cc).
  virtual Result<std::vector<bool>> complete_tasks(std::span<const TaskResult> results) = 0;
  /// Records a failed attempt; the task is failed for good (true) once
  /// `max_attempts` attempts have failed, else stays queued.
  virtual Result<bool> fail_attempt(int64_t task, const std::string& error, int max_attempts,
                                    const std::string& worker) = 0;

  /// Up to `limit` results in storage order: those after row `after_row`
  /// when it is >= 0 (an index seek: how pages follow each other), else
  /// from the `since`-th on (a walk past `since` rows).
  virtual Result<std::vector<ResultRow>> results(int64_t campaign, int64_t since, int limit,
                                                 int64_t after_row = -1) = 0;
  /// The campaign's most recently failed tasks, newest first (for dashboards).
  virtual Result<std::vector<ResultRow>> failures(int64_t campaign, int limit) = 0;

  /// Keeps `data` as the task's checkpoint, replacing any earlier one.
  virtual Status save_checkpoint(int64_t task, std::string_view data) = 0;
  /// The task's checkpoint; NotFound when it has none.
  virtual Result<std::string> load_checkpoint(int64_t task) = 0;
  virtual Status delete_checkpoint(int64_t task) = 0;
  /// Ids of the tasks that have a checkpoint (read once at start).
  virtual Result<std::vector<int64_t>> checkpointed_tasks() = 0;

  /// Records one replica's result (replicated campaigns).
  virtual Status add_vote(int64_t campaign, const VoteRow& vote) = 0;
  /// Votes of the campaign's tasks with ids in [first_task, last_task].
  virtual Result<std::vector<VoteRow>> votes(int64_t campaign, int64_t first_task,
                                             int64_t last_task) = 0;
  /// Drops a task's votes once it is accepted or failed.
  virtual Status delete_votes(int64_t task) = 0;

  virtual Status upsert_worker(const WorkerRow& w) = 0;
  virtual Result<std::vector<WorkerRow>> workers() = 0;
  /// The stored row of one worker; NotFound if the pool never saw it.
  virtual Result<WorkerRow> worker(const std::string& id) = 0;
  /// Marks a worker that disagreed with a quorum: flagged, one more
  /// disagreement, its score halved (for the first ten).
  virtual Status flag_worker(const std::string& id) = 0;
  /// Keeps the evidence of a disagreement (the last few per worker).
  virtual Status add_flag_evidence(const FlagRow& f) = 0;
  /// The evidence kept for `id`, newest first.
  virtual Result<std::vector<FlagRow>> flag_evidence(const std::string& id, int limit) = 0;
  /// Lifts a worker's flag (wpool workers unflag); NotFound if unknown.
  virtual Status unflag_worker(const std::string& id) = 0;
  virtual Result<std::vector<std::string>> flagged_workers() = 0;
};

}  // namespace w::pool
