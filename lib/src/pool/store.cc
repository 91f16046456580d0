#include "store.h"

#include <ctime>
#include <iterator>

#include <fmt/format.h>

#include "store_sql.h"

namespace w::pool {
using namespace store_sql;
namespace {

// The schema, as the steps that build it: step i takes a file from
// user_version i to i + 1, in one transaction. A new table or column is a new
// step at the end; a step that shipped is never edited, so every pool file
// ever written can be brought up to date.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE kernels(
  sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, platform TEXT NOT NULL,
  data BLOB NOT NULL, added INTEGER NOT NULL);
CREATE TABLE campaigns(
  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, kernel TEXT NOT NULL,
  static BLOB, timeout_ms INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
  replicas INTEGER NOT NULL, quorum INTEGER NOT NULL, priority INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'running', created INTEGER NOT NULL);
CREATE TABLE once_keys(
  campaign INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY(campaign, key)) WITHOUT ROWID;
-- state: 0 queued, 2 done, 3 failed (leases live in memory only)
CREATE TABLE tasks(
  id INTEGER PRIMARY KEY, campaign INTEGER NOT NULL, seq INTEGER NOT NULL,
  input BLOB NOT NULL, state INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, errors TEXT NOT NULL DEFAULT '',
  UNIQUE(campaign, seq));
CREATE INDEX tasks_queued ON tasks(campaign, state, id);
-- one row per finished task (done or failed), in the order they finished
CREATE TABLE results(
  row INTEGER PRIMARY KEY, task INTEGER UNIQUE NOT NULL, campaign INTEGER NOT NULL,
  output BLOB, error TEXT, worker TEXT, platform TEXT, ms REAL);
CREATE INDEX results_campaign ON results(campaign, row);
CREATE TABLE workers(
  id TEXT PRIMARY KEY, name TEXT, platform TEXT, slots INTEGER, score REAL,
  tasks_done INTEGER, tasks_failed INTEGER, flagged INTEGER, last_seen INTEGER);
)sql";

// Checkpoints: the latest state a kernel saved for a task, kept while the
// task is queued or leased so that a re-dispatched task resumes from it.
constexpr const char* kCheckpoints = R"sql(
CREATE TABLE checkpoints(task INTEGER PRIMARY KEY, data BLOB NOT NULL);
)sql";

// Replicated campaigns: each replica's result, kept until its task is
// accepted or failed, and how often a worker disagreed with a quorum.
constexpr const char* kVotes = R"sql(
CREATE TABLE votes(
  task INTEGER NOT NULL, worker TEXT NOT NULL, campaign INTEGER NOT NULL,
  output BLOB, platform TEXT, ms REAL, PRIMARY KEY(task, worker)) WITHOUT ROWID;
ALTER TABLE workers ADD COLUMN disagreements INTEGER NOT NULL DEFAULT 0;
)sql";

// Browser workers: the campaign's kernel built as a standalone .wasm.
constexpr const char* kWasmKernels = R"sql(
ALTER TABLE campaigns ADD COLUMN kernel_wasm TEXT NOT NULL DEFAULT '';
)sql";

// Coupled campaigns: K members run each task together (1 = not coupled).
constexpr const char* kGroups = R"sql(
ALTER TABLE campaigns ADD COLUMN group_size INTEGER NOT NULL DEFAULT 1;
)sql";

// Fewer index writes per task (they were most of the pool's CPU with tiny
// tasks): the queue is a partial index of the queued tasks only, failed
// tasks get one too (for the counts at startup), and results lose
// UNIQUE(task): a result is stored only by the transition of its task out
// of state 0, which happens once. The results table is rebuilt to drop the
// constraint (SQLite cannot drop it in place).
constexpr const char* kLeanIndexes = R"sql(
DROP INDEX tasks_queued;
CREATE INDEX tasks_open ON tasks(campaign, id) WHERE state=0;
CREATE INDEX tasks_failed ON tasks(campaign) WHERE state=3;
CREATE TABLE results_v6(
  row INTEGER PRIMARY KEY, task INTEGER NOT NULL, campaign INTEGER NOT NULL,
  output BLOB, error TEXT, worker TEXT, platform TEXT, ms REAL);
INSERT INTO results_v6 SELECT row,task,campaign,output,error,worker,platform,ms FROM results;
DROP TABLE results;
ALTER TABLE results_v6 RENAME TO results;
CREATE INDEX results_campaign ON results(campaign, row);
)sql";

// Untrusted workers: replicas compared within a tolerance, and why each
// flagged worker was flagged (the task, its result and the accepted one).
constexpr const char* kTrust = R"sql(
ALTER TABLE campaigns ADD COLUMN quorum_tolerance REAL NOT NULL DEFAULT 0;
CREATE TABLE flags(
  worker TEXT NOT NULL, task INTEGER NOT NULL, campaign TEXT NOT NULL, at INTEGER NOT NULL,
  output BLOB, accepted BLOB);
CREATE INDEX flags_worker ON flags(worker, at);
)sql";

// Resumable submits: how many datasets each (campaign, once-key) had
// acknowledged, counted in the transaction that stored them, so a re-run
// skips exactly those; -1 marks a key an older pool recorded (it took the
// whole input then). And which workers were bound to a campaign: all a
// capability scoped to that campaign may see of the pool's workers.
constexpr const char* kSubmits = R"sql(
ALTER TABLE once_keys ADD COLUMN acked INTEGER NOT NULL DEFAULT -1;
CREATE TABLE campaign_workers(
  campaign INTEGER NOT NULL, worker TEXT NOT NULL, PRIMARY KEY(campaign, worker)) WITHOUT ROWID;
INSERT OR IGNORE INTO campaign_workers
  SELECT DISTINCT campaign, worker FROM results WHERE worker IS NOT NULL AND worker<>'';
)sql";

constexpr const char* kMigrations[] = {
    kSchemaV1, kCheckpoints, kVotes, kWasmKernels, kGroups, kLeanIndexes, kTrust, kSubmits,
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

int64_t now_s() {
  return static_cast<int64_t>(std::time(nullptr));
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  // No memory statistics: they take a global mutex on every allocation.
  // Only possible before SQLite's first use in the process; later it fails
  // harmlessly.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  std::unique_ptr<Store> s(new Store());
  s->path_ = path;
  // NOMUTEX: only the event loop's thread uses a store; the per-call mutex
  // was 3% of the pool's CPU with tiny tasks.
  if (sqlite3_open_v2(path.c_str(), &s->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = s->db_ ? sqlite3_errmsg(s->db_) : "out of memory";
    return Status::Io(fmt::format("open '{}': {}", path, why));
  }
  sqlite3_busy_timeout(s->db_, 5000);
  // WAL + synchronous=NORMAL: a committed transaction survives kill -9 of
  // the pool (not necessarily a power cut), and commits cost no fsync.
  W_RETURN_IF_ERROR(s->exec("PRAGMA journal_mode=WAL"));
  W_RETURN_IF_ERROR(s->exec("PRAGMA synchronous=NORMAL"));
  W_RETURN_IF_ERROR(s->exec("PRAGMA foreign_keys=OFF"));
  sqlite3_stmt* st = s->prepare("PRAGMA user_version");
  if (!st) return s->sql_error("read schema version");
  int version = 0;
  {
    Reset r{st};
    if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
  }
  if (version > kSchemaVersion)
    return Status::Invalid(
        fmt::format("'{}' has schema version {}, newer than this wpool ({}); upgrade wkit", path,
                    version, kSchemaVersion));
  for (; version < kSchemaVersion; ++version) {
    W_RETURN_IF_ERROR(s->exec("BEGIN"));
    W_RETURN_IF_ERROR(s->exec(kMigrations[version]));
    W_RETURN_IF_ERROR(s->exec(fmt::format("PRAGMA user_version={}", version + 1).c_str()));
    W_RETURN_IF_ERROR(s->exec("COMMIT"));
  }
  return s;
}

Store::~Store() {
  if (in_txn_) (void)commit();
  for (auto& [sql, st] : cache_) sqlite3_finalize(st);
  if (db_) sqlite3_close(db_);
}

Status Store::sql_error(const char* what) {
  return Status::Io(fmt::format("{} in '{}': {}", what, path_, sqlite3_errmsg(db_)));
}

Status Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Io(fmt::format("sqlite '{}': {}", path_, m));
  }
  return {};
}

sqlite3_stmt* Store::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
    return nullptr;
  cache_.emplace(sql, st);
  return st;
}

Status Store::begin_if_needed() {
  if (in_txn_) return {};
  W_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  in_txn_ = true;
  return {};
}

Status Store::commit() {
  if (!in_txn_) return {};
  in_txn_ = false;
  return exec("COMMIT");
}

Status Store::put_kernel(const std::string& sha, const std::string& name,
                         const std::string& platform, const std::string& data) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare(
      "INSERT INTO kernels(sha256,name,platform,data,added) VALUES(?,?,?,?,?) "
      "ON CONFLICT(sha256) DO UPDATE SET name=excluded.name");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, sha);
  bind_text(st, 2, name);
  bind_text(st, 3, platform);
  bind_blob(st, 4, data);
  sqlite3_bind_int64(st, 5, now_s());
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("store kernel");
  return {};
}

Result<std::string> Store::kernel_data(const std::string& sha) {
  sqlite3_stmt* st = prepare("SELECT data FROM kernels WHERE sha256=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, sha);
  if (sqlite3_step(st) != SQLITE_ROW) return Status::NotFound(fmt::format("no kernel {}", sha));
  return column_blob(st, 0);
}

Result<std::vector<std::vector<std::string>>> Store::kernels() {
  sqlite3_stmt* st =
      prepare("SELECT sha256,name,platform,length(data) FROM kernels ORDER BY added");
  if (!st) return sql_error("prepare");
  Reset r{st};
  std::vector<std::vector<std::string>> out;
  while (sqlite3_step(st) == SQLITE_ROW)
    out.push_back({column_text(st, 0), column_text(st, 1), column_text(st, 2), column_text(st, 3)});
  return out;
}

Result<int64_t> Store::create_campaign(const CampaignSpec& c) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare(
      "INSERT INTO campaigns(name,kernel,static,timeout_ms,max_attempts,replicas,quorum,priority,"
      "created,kernel_wasm,group_size,quorum_tolerance) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, c.name);
  bind_text(st, 2, c.kernel_sha);
  bind_blob(st, 3, c.static_data);
  sqlite3_bind_int64(st, 4, c.timeout_ms);
  sqlite3_bind_int(st, 5, c.max_attempts);
  sqlite3_bind_int(st, 6, c.replicas);
  sqlite3_bind_int(st, 7, c.quorum);
  sqlite3_bind_int(st, 8, c.priority);
  sqlite3_bind_int64(st, 9, now_s());
  bind_text(st, 10, c.kernel_wasm);
  sqlite3_bind_int(st, 11, c.group);
  sqlite3_bind_double(st, 12, c.quorum_tolerance);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("create campaign");
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<std::vector<CampaignRow>> Store::campaigns() {
  sqlite3_stmt* st = prepare(
      "SELECT c.id,c.name,c.kernel,c.static,c.timeout_ms,c.max_attempts,c.replicas,c.quorum,"
      "c.priority,c.state,c.created,"
      " (SELECT count(*) FROM tasks t WHERE t.campaign=c.id),"
      " (SELECT count(*) FROM tasks t WHERE t.campaign=c.id AND t.state=0),"
      " (SELECT count(*) FROM tasks t WHERE t.campaign=c.id AND t.state=3),"
      " c.kernel_wasm, c.group_size, c.quorum_tolerance"
      " FROM campaigns c ORDER BY c.id");
  if (!st) return sql_error("prepare");
  Reset r{st};
  std::vector<CampaignRow> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    CampaignRow c;
    c.id = sqlite3_column_int64(st, 0);
    c.spec.name = column_text(st, 1);
    c.spec.kernel_sha = column_text(st, 2);
    c.spec.static_data = column_blob(st, 3);
    c.spec.timeout_ms = sqlite3_column_int64(st, 4);
    c.spec.max_attempts = sqlite3_column_int(st, 5);
    c.spec.replicas = sqlite3_column_int(st, 6);
    c.spec.quorum = sqlite3_column_int(st, 7);
    c.spec.priority = sqlite3_column_int(st, 8);
    c.state = column_text(st, 9);
    c.created = sqlite3_column_int64(st, 10);
    // Each count walks one index; done tasks have none of their own.
    c.total = sqlite3_column_int64(st, 11);
    c.failed = sqlite3_column_int64(st, 13);
    c.done = c.total - sqlite3_column_int64(st, 12) - c.failed;
    c.spec.kernel_wasm = column_text(st, 14);
    c.spec.group = sqlite3_column_int(st, 15);
    c.spec.quorum_tolerance = sqlite3_column_double(st, 16);
    out.push_back(std::move(c));
  }
  return out;
}

Status Store::set_campaign_state(int64_t id, const std::string& state) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare("UPDATE campaigns SET state=? WHERE id=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, state);
  sqlite3_bind_int64(st, 2, id);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("update campaign");
  return {};
}

Status Store::delete_campaign(int64_t id) {
  W_RETURN_IF_ERROR(begin_if_needed());
  for (const char* sql :
       {"DELETE FROM checkpoints WHERE task IN (SELECT id FROM tasks WHERE campaign=?)",
        "DELETE FROM votes WHERE campaign=?", "DELETE FROM results WHERE campaign=?",
        "DELETE FROM tasks WHERE campaign=?", "DELETE FROM once_keys WHERE campaign=?",
        "DELETE FROM campaign_workers WHERE campaign=?", "DELETE FROM campaigns WHERE id=?"}) {
    sqlite3_stmt* st = prepare(sql);
    if (!st) return sql_error("prepare");
    Reset r{st};
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) return sql_error("delete campaign");
  }
  return {};
}

Result<int64_t> Store::next_seq(int64_t campaign) {
  sqlite3_stmt* st = prepare("SELECT coalesce(max(seq)+1,0) FROM tasks WHERE campaign=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  if (sqlite3_step(st) != SQLITE_ROW) return sql_error("next seq");
  return static_cast<int64_t>(sqlite3_column_int64(st, 0));
}

Result<int64_t> Store::add_task(int64_t campaign, int64_t seq, std::string_view input) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare("INSERT INTO tasks(campaign,seq,input) VALUES(?,?,?)");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  sqlite3_bind_int64(st, 2, seq);
  bind_blob(st, 3, input);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("add task");
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<std::vector<TaskRow>> Store::queued_tasks(int64_t campaign, int64_t after_id, int limit) {
  sqlite3_stmt* st = prepare(
      "SELECT id,seq,input,attempts FROM tasks WHERE campaign=? AND state=0 AND id>? "
      "ORDER BY id LIMIT ?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  sqlite3_bind_int64(st, 2, after_id);
  sqlite3_bind_int(st, 3, limit);
  std::vector<TaskRow> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    TaskRow t;
    t.id = sqlite3_column_int64(st, 0);
    t.campaign = campaign;
    t.seq = sqlite3_column_int64(st, 1);
    t.input = column_blob(st, 2);
    t.attempts = sqlite3_column_int(st, 3);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return sql_error("load tasks");
  return out;
}

Result<bool> Store::complete_task(int64_t task, std::string_view output, const std::string& worker,
                                  const std::string& platform, double ms) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare("UPDATE tasks SET state=2 WHERE id=? AND state=0 RETURNING campaign");
  if (!st) return sql_error("prepare");
  int64_t campaign;
  {
    Reset r{st};
    sqlite3_bind_int64(st, 1, task);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return false;  // already finished: its result is stored
    if (rc != SQLITE_ROW) return sql_error("complete task");
    campaign = sqlite3_column_int64(st, 0);
    if (sqlite3_step(st) != SQLITE_DONE) return sql_error("complete task");
  }
  sqlite3_stmt* ins =
      prepare("INSERT INTO results(task,campaign,output,worker,platform,ms) VALUES(?,?,?,?,?,?)");
  if (!ins) return sql_error("prepare");
  Reset r{ins};
  sqlite3_bind_int64(ins, 1, task);
  sqlite3_bind_int64(ins, 2, campaign);
  bind_blob(ins, 3, output);
  bind_text(ins, 4, worker);
  bind_text(ins, 5, platform);
  sqlite3_bind_double(ins, 6, ms);
  if (sqlite3_step(ins) != SQLITE_DONE) return sql_error("store result");
  return true;
}

Result<bool> Store::fail_attempt(int64_t task, const std::string& error, int max_attempts,
                                 const std::string& worker) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare(
      "UPDATE tasks SET attempts=attempts+1,"
      " errors=errors || CASE WHEN errors='' THEN '' ELSE '; ' END || ?,"
      " state=CASE WHEN attempts+1>=? THEN 3 ELSE 0 END"
      " WHERE id=? AND state=0 RETURNING state, errors, campaign");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, error);
  sqlite3_bind_int(st, 2, max_attempts);
  sqlite3_bind_int64(st, 3, task);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return false;  // already finished
  if (rc != SQLITE_ROW) return sql_error("record failure");
  const bool final = sqlite3_column_int(st, 0) == 3;
  std::string errors = column_text(st, 1);
  const int64_t campaign = sqlite3_column_int64(st, 2);
  while (sqlite3_step(st) == SQLITE_ROW) {
  }
  if (!final) return false;
  sqlite3_stmt* ins =
      prepare("INSERT INTO results(task,campaign,error,worker,platform,ms) VALUES(?,?,?,?,'',0)");
  if (!ins) return sql_error("prepare");
  Reset r2{ins};
  sqlite3_bind_int64(ins, 1, task);
  sqlite3_bind_int64(ins, 2, campaign);
  bind_text(ins, 3, errors);
  bind_text(ins, 4, worker);
  if (sqlite3_step(ins) != SQLITE_DONE) return sql_error("store failure");
  return true;
}

Result<std::vector<ResultRow>> Store::results(int64_t campaign, int64_t since, int limit,
                                              int64_t after_row) {
  // With after_row the page starts past it (an index seek); without, it
  // walks past `since` rows.
  sqlite3_stmt* st = prepare(
      "SELECT r.row,r.task,t.seq,t.input,r.output,r.error,r.worker,r.platform,r.ms"
      " FROM results r JOIN tasks t ON t.id=r.task"
      " WHERE r.campaign=? AND r.row>? ORDER BY r.row LIMIT ? OFFSET ?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  sqlite3_bind_int64(st, 2, after_row);
  sqlite3_bind_int(st, 3, limit);
  sqlite3_bind_int64(st, 4, after_row >= 0 ? 0 : since);
  std::vector<ResultRow> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    ResultRow row;
    row.row = sqlite3_column_int64(st, 0);
    row.task = sqlite3_column_int64(st, 1);
    row.seq = sqlite3_column_int64(st, 2);
    row.input = column_blob(st, 3);
    row.output = column_blob(st, 4);
    row.error = column_text(st, 5);
    row.worker = column_text(st, 6);
    row.platform = column_text(st, 7);
    row.ms = sqlite3_column_double(st, 8);
    out.push_back(std::move(row));
  }
  return out;
}

Result<std::vector<ResultRow>> Store::failures(int64_t campaign, int limit) {
  sqlite3_stmt* st = prepare(
      "SELECT r.task,t.seq,r.error,r.worker FROM results r JOIN tasks t ON t.id=r.task"
      " WHERE r.campaign=? AND r.error IS NOT NULL AND r.error<>'' ORDER BY r.row DESC LIMIT ?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  sqlite3_bind_int(st, 2, limit);
  std::vector<ResultRow> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    ResultRow row;
    row.task = sqlite3_column_int64(st, 0);
    row.seq = sqlite3_column_int64(st, 1);
    row.error = column_text(st, 2);
    row.worker = column_text(st, 3);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace w::pool
