#include "pg_store.h"
#include "sqlite_store.h"

#include <ctime>
#include <iterator>

#include <fmt/format.h>

namespace w::pool {
using store::Step;
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

// Speculative copies at the end of a campaign: on unless its submit said
// --no-speculate (campaigns of older pools get them too).
constexpr const char* kSpeculate = R"sql(
ALTER TABLE campaigns ADD COLUMN speculate INTEGER NOT NULL DEFAULT 1;
)sql";

constexpr const char* kMigrations[] = {
    kSchemaV1,    kCheckpoints, kVotes,   kWasmKernels, kGroups,
    kLeanIndexes, kTrust,       kSubmits, kSpeculate,
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

int64_t now_s() {
  return static_cast<int64_t>(std::time(nullptr));
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  // A URL or keyword string names a PostgreSQL database; anything else is
  // a file (the default: nothing to run beside the pool).
  if (is_postgres_conninfo(path)) {
    auto pg = PgStore::open(path);
    if (!pg.ok()) return pg.status();
    return std::unique_ptr<Store>(std::move(*pg));
  }
  auto s = SqliteStore::open(path);
  if (!s.ok()) return s.status();
  return std::unique_ptr<Store>(std::move(*s));
}

std::string Store::shown(const std::string& path) {
  return is_postgres_conninfo(path) ? redact_conninfo(path) : path;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  // No memory statistics: they take a global mutex on every allocation.
  // Only possible before SQLite's first use in the process; later it fails
  // harmlessly.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  // NOMUTEX: only the event loop's thread uses a store; the per-call mutex
  // was 3% of the pool's CPU with tiny tasks.
  auto db =
      store::Database::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) return db.status();
  db->busy_timeout(5000);
  std::unique_ptr<SqliteStore> s(new SqliteStore(std::move(*db)));
  // WAL + synchronous=NORMAL: a committed transaction survives kill -9 of
  // the pool (not necessarily a power cut), and commits cost no fsync.
  W_RETURN_IF_ERROR(s->db_.wal());
  W_RETURN_IF_ERROR(s->db_.exec("PRAGMA synchronous=NORMAL"));
  W_RETURN_IF_ERROR(s->db_.exec("PRAGMA foreign_keys=OFF"));
  W_RETURN_IF_ERROR(s->migrate());
  return s;
}

// Brings the file from its user_version to kSchemaVersion, one step per
// transaction: a step that fails leaves the file at the last one that held.
Status SqliteStore::migrate() {
  int version = 0;
  {
    // Finalized before the steps: an unfinished read would lock the schema.
    auto q = db_.prepare("PRAGMA user_version");
    if (!q.ok()) return q.status();
    if (q->step() != Step::kRow) return failed(*q, "read schema version");
    version = q->column_int(0);
  }
  if (version > kSchemaVersion)
    return Status::Invalid(
        fmt::format("'{}' has schema version {}, newer than this wpool ({}); upgrade wkit",
                    db_.path(), version, kSchemaVersion));
  for (; version < kSchemaVersion; ++version) {
    auto txn = store::Transaction::begin(db_, store::Transaction::Mode::kDeferred);
    if (!txn.ok()) return txn.status();
    W_RETURN_IF_ERROR(db_.exec(kMigrations[version]));
    W_RETURN_IF_ERROR(db_.exec(fmt::format("PRAGMA user_version={}", version + 1)));
    W_RETURN_IF_ERROR(txn->commit());
  }
  return {};
}

SqliteStore::~SqliteStore() {
  // What the server wrote since its last commit is kept, as it always was.
  if (txn_) (void)commit();
}

Status SqliteStore::run(store::Statement& st, const char* what) const {
  switch (st.step()) {
    case Step::kDone:
      return {};
    case Step::kRow:
      return Status::Internal(
          fmt::format("{} in '{}': a row where none was expected", what, db_.path()));
    case Step::kError:
      break;
  }
  return failed(st, what);
}

Status SqliteStore::failed(const store::Statement& st, const char* what) const {
  return st.status(fmt::format("{} in '{}'", what, db_.path()));
}

Status SqliteStore::begin_if_needed() {
  if (txn_) return {};
  auto txn = store::Transaction::begin(db_);
  if (!txn.ok()) return txn.status();
  txn_.emplace(std::move(*txn));
  return {};
}

Status SqliteStore::commit() {
  if (!txn_) return {};
  // Over whether it worked or not: a failed COMMIT is rolled back.
  store::Transaction txn = std::move(*txn_);
  txn_.reset();
  return txn.commit();
}

Status SqliteStore::put_kernel(const std::string& sha, const std::string& name,
                               const std::string& platform, const std::string& data) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare(
      "INSERT INTO kernels(sha256,name,platform,data,added) VALUES(?,?,?,?,?) "
      "ON CONFLICT(sha256) DO UPDATE SET name=excluded.name");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, sha);
  st.bind_text(2, name);
  st.bind_text(3, platform);
  st.bind_blob(4, data);
  st.bind_int64(5, now_s());
  return run(st, "store kernel");
}

Result<std::string> SqliteStore::kernel_data(const std::string& sha) {
  auto q = prepare("SELECT data FROM kernels WHERE sha256=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, sha);
  const Step rc = st.step();
  if (rc == Step::kError) return failed(st, "read kernel");
  if (rc != Step::kRow) return Status::NotFound(fmt::format("no kernel {}", sha));
  return st.column_blob(0);
}

Result<std::vector<std::vector<std::string>>> SqliteStore::kernels() {
  auto q = prepare("SELECT sha256,name,platform,length(data) FROM kernels ORDER BY added");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  std::vector<std::vector<std::string>> out;
  while (st.step() == Step::kRow)
    out.push_back({st.column_text(0), st.column_text(1), st.column_text(2), st.column_text(3)});
  if (st.rc() != SQLITE_DONE) return failed(st, "read kernels");
  return out;
}

Result<int64_t> SqliteStore::create_campaign(const CampaignSpec& c) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare(
      "INSERT INTO campaigns(name,kernel,static,timeout_ms,max_attempts,replicas,quorum,priority,"
      "created,kernel_wasm,group_size,quorum_tolerance,speculate)"
      " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, c.name);
  st.bind_text(2, c.kernel_sha);
  st.bind_blob(3, c.static_data);
  st.bind_int64(4, c.timeout_ms);
  st.bind_int(5, c.max_attempts);
  st.bind_int(6, c.replicas);
  st.bind_int(7, c.quorum);
  st.bind_int(8, c.priority);
  st.bind_int64(9, now_s());
  st.bind_text(10, c.kernel_wasm);
  st.bind_int(11, c.group);
  st.bind_double(12, c.quorum_tolerance);
  st.bind_int(13, c.speculate ? 1 : 0);
  W_RETURN_IF_ERROR(run(st, "create campaign"));
  return static_cast<int64_t>(db_.last_insert_rowid());
}

Result<std::vector<CampaignRow>> SqliteStore::campaigns() {
  auto q = prepare(
      "SELECT c.id,c.name,c.kernel,c.static,c.timeout_ms,c.max_attempts,c.replicas,c.quorum,"
      "c.priority,c.state,c.created,"
      " (SELECT count(*) FROM tasks t WHERE t.campaign=c.id),"
      " (SELECT count(*) FROM tasks t WHERE t.campaign=c.id AND t.state=0),"
      " (SELECT count(*) FROM tasks t WHERE t.campaign=c.id AND t.state=3),"
      " c.kernel_wasm, c.group_size, c.quorum_tolerance, c.speculate"
      " FROM campaigns c ORDER BY c.id");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  std::vector<CampaignRow> out;
  while (st.step() == Step::kRow) {
    CampaignRow c;
    c.id = st.column_int64(0);
    c.spec.name = st.column_text(1);
    c.spec.kernel_sha = st.column_text(2);
    c.spec.static_data = st.column_blob(3);
    c.spec.timeout_ms = st.column_int64(4);
    c.spec.max_attempts = st.column_int(5);
    c.spec.replicas = st.column_int(6);
    c.spec.quorum = st.column_int(7);
    c.spec.priority = st.column_int(8);
    c.state = st.column_text(9);
    c.created = st.column_int64(10);
    // Each count walks one index; done tasks have none of their own.
    c.total = st.column_int64(11);
    c.failed = st.column_int64(13);
    c.done = c.total - st.column_int64(12) - c.failed;
    c.spec.kernel_wasm = st.column_text(14);
    c.spec.group = st.column_int(15);
    c.spec.quorum_tolerance = st.column_double(16);
    c.spec.speculate = st.column_int(17) != 0;
    out.push_back(std::move(c));
  }
  if (st.rc() != SQLITE_DONE) return failed(st, "read campaigns");
  return out;
}

Status SqliteStore::set_campaign_state(int64_t id, const std::string& state) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("UPDATE campaigns SET state=? WHERE id=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, state);
  st.bind_int64(2, id);
  return run(st, "update campaign");
}

Status SqliteStore::delete_campaign(int64_t id) {
  W_RETURN_IF_ERROR(begin_if_needed());
  for (const char* sql :
       {"DELETE FROM checkpoints WHERE task IN (SELECT id FROM tasks WHERE campaign=?)",
        "DELETE FROM votes WHERE campaign=?", "DELETE FROM results WHERE campaign=?",
        "DELETE FROM tasks WHERE campaign=?", "DELETE FROM once_keys WHERE campaign=?",
        "DELETE FROM campaign_workers WHERE campaign=?", "DELETE FROM campaigns WHERE id=?"}) {
    auto q = prepare(sql);
    if (!q.ok()) return q.status();
    store::Statement& st = **q;
    store::ResetOnExit r(st);
    st.bind_int64(1, id);
    W_RETURN_IF_ERROR(run(st, "delete campaign"));
  }
  return {};
}

Result<int64_t> SqliteStore::next_seq(int64_t campaign) {
  auto q = prepare("SELECT coalesce(max(seq)+1,0) FROM tasks WHERE campaign=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  if (st.step() != Step::kRow) return failed(st, "next seq");
  return static_cast<int64_t>(st.column_int64(0));
}

Result<int64_t> SqliteStore::add_task(int64_t campaign, int64_t seq, std::string_view input) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("INSERT INTO tasks(campaign,seq,input) VALUES(?,?,?)");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  st.bind_int64(2, seq);
  st.bind_blob(3, input);
  W_RETURN_IF_ERROR(run(st, "add task"));
  return static_cast<int64_t>(db_.last_insert_rowid());
}

Result<std::vector<TaskRow>> SqliteStore::queued_tasks(int64_t campaign, int64_t after_id,
                                                       int limit) {
  auto q = prepare(
      "SELECT id,seq,input,attempts FROM tasks WHERE campaign=? AND state=0 AND id>? "
      "ORDER BY id LIMIT ?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  st.bind_int64(2, after_id);
  st.bind_int(3, limit);
  std::vector<TaskRow> out;
  Step rc;
  while ((rc = st.step()) == Step::kRow) {
    TaskRow t;
    t.id = st.column_int64(0);
    t.campaign = campaign;
    t.seq = st.column_int64(1);
    t.input = st.column_blob(2);
    t.attempts = st.column_int(3);
    out.push_back(std::move(t));
  }
  if (rc != Step::kDone) return failed(st, "load tasks");
  return out;
}

Result<bool> SqliteStore::complete_task(int64_t task, std::string_view output,
                                        const std::string& worker, const std::string& platform,
                                        double ms) {
  return complete_one({task, output, worker, platform, ms});
}

// SQLite is in this process: a batch is its loop, with nothing to save.
Result<std::vector<bool>> SqliteStore::complete_tasks(std::span<const TaskResult> results) {
  std::vector<bool> stored;
  stored.reserve(results.size());
  for (const TaskResult& r : results) {
    auto one = complete_one(r);
    if (!one.ok()) return one.status();
    stored.push_back(*one);
  }
  return stored;
}

Result<bool> SqliteStore::complete_one(const TaskResult& result) {
  const int64_t task = result.task;
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("UPDATE tasks SET state=2 WHERE id=? AND state=0 RETURNING campaign");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  int64_t campaign;
  {
    store::ResetOnExit r(st);
    st.bind_int64(1, task);
    Step rc = st.step();
    if (rc == Step::kDone) return false;  // already finished: its result is stored
    if (rc != Step::kRow) return failed(st, "complete task");
    campaign = st.column_int64(0);
    W_RETURN_IF_ERROR(run(st, "complete task"));
  }
  auto iq =
      prepare("INSERT INTO results(task,campaign,output,worker,platform,ms) VALUES(?,?,?,?,?,?)");
  if (!iq.ok()) return iq.status();
  store::Statement& ins = **iq;
  store::ResetOnExit r(ins);
  ins.bind_int64(1, task);
  ins.bind_int64(2, campaign);
  ins.bind_blob(3, result.output);
  ins.bind_text(4, result.worker);
  ins.bind_text(5, result.platform);
  ins.bind_double(6, result.ms);
  W_RETURN_IF_ERROR(run(ins, "store result"));
  return true;
}

Result<bool> SqliteStore::fail_attempt(int64_t task, const std::string& error, int max_attempts,
                                       const std::string& worker) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare(
      "UPDATE tasks SET attempts=attempts+1,"
      " errors=errors || CASE WHEN errors='' THEN '' ELSE '; ' END || ?,"
      " state=CASE WHEN attempts+1>=? THEN 3 ELSE 0 END"
      " WHERE id=? AND state=0 RETURNING state, errors, campaign");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, error);
  st.bind_int(2, max_attempts);
  st.bind_int64(3, task);
  Step rc = st.step();
  if (rc == Step::kDone) return false;  // already finished
  if (rc != Step::kRow) return failed(st, "record failure");
  const bool final = st.column_int(0) == 3;
  std::string errors = st.column_text(1);
  const int64_t campaign = st.column_int64(2);
  while (st.step() == Step::kRow) {
  }
  if (!final) return false;
  auto iq =
      prepare("INSERT INTO results(task,campaign,error,worker,platform,ms) VALUES(?,?,?,?,'',0)");
  if (!iq.ok()) return iq.status();
  store::Statement& ins = **iq;
  store::ResetOnExit r2(ins);
  ins.bind_int64(1, task);
  ins.bind_int64(2, campaign);
  ins.bind_text(3, errors);
  ins.bind_text(4, worker);
  W_RETURN_IF_ERROR(run(ins, "store failure"));
  return true;
}

Result<std::vector<ResultRow>> SqliteStore::results(int64_t campaign, int64_t since, int limit,
                                                    int64_t after_row) {
  // With after_row the page starts past it (an index seek); without, it
  // walks past `since` rows.
  auto q = prepare(
      "SELECT r.row,r.task,t.seq,t.input,r.output,r.error,r.worker,r.platform,r.ms"
      " FROM results r JOIN tasks t ON t.id=r.task"
      " WHERE r.campaign=? AND r.row>? ORDER BY r.row LIMIT ? OFFSET ?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  st.bind_int64(2, after_row);
  st.bind_int(3, limit);
  st.bind_int64(4, after_row >= 0 ? 0 : since);
  std::vector<ResultRow> out;
  while (st.step() == Step::kRow) {
    ResultRow row;
    row.row = st.column_int64(0);
    row.task = st.column_int64(1);
    row.seq = st.column_int64(2);
    row.input = st.column_blob(3);
    row.output = st.column_blob(4);
    row.error = st.column_text(5);
    row.worker = st.column_text(6);
    row.platform = st.column_text(7);
    row.ms = st.column_double(8);
    out.push_back(std::move(row));
  }
  if (st.rc() != SQLITE_DONE) return failed(st, "read results");
  return out;
}

Result<std::vector<ResultRow>> SqliteStore::failures(int64_t campaign, int limit) {
  auto q = prepare(
      "SELECT r.task,t.seq,r.error,r.worker FROM results r JOIN tasks t ON t.id=r.task"
      " WHERE r.campaign=? AND r.error IS NOT NULL AND r.error<>'' ORDER BY r.row DESC LIMIT ?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  st.bind_int(2, limit);
  std::vector<ResultRow> out;
  while (st.step() == Step::kRow) {
    ResultRow row;
    row.task = st.column_int64(0);
    row.seq = st.column_int64(1);
    row.error = st.column_text(2);
    row.worker = st.column_text(3);
    out.push_back(std::move(row));
  }
  if (st.rc() != SQLITE_DONE) return failed(st, "read failures");
  return out;
}

}  // namespace w::pool
