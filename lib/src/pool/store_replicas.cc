// The store's tables beside tasks and results: checkpoints, the votes of
// replicated tasks, and workers with their flags (see store.h).
#include "sqlite_store.h"

#include <fmt/format.h>

namespace w::pool {
using store::Step;

Status SqliteStore::save_checkpoint(int64_t task, std::string_view data) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("INSERT OR REPLACE INTO checkpoints(task,data) VALUES(?,?)");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, task);
  st.bind_blob(2, data);
  return run(st, "store checkpoint");
}

Result<std::string> SqliteStore::load_checkpoint(int64_t task) {
  auto q = prepare("SELECT data FROM checkpoints WHERE task=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, task);
  const Step rc = st.step();
  if (rc == Step::kError) return failed(st, "read checkpoint");
  if (rc != Step::kRow) return Status::NotFound(fmt::format("task {} has no checkpoint", task));
  return st.column_blob(0);
}

Status SqliteStore::delete_checkpoint(int64_t task) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("DELETE FROM checkpoints WHERE task=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, task);
  return run(st, "delete checkpoint");
}

Result<std::vector<int64_t>> SqliteStore::checkpointed_tasks() {
  auto q = prepare("SELECT task FROM checkpoints");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  std::vector<int64_t> out;
  Step rc;
  while ((rc = st.step()) == Step::kRow) out.push_back(st.column_int64(0));
  if (rc != Step::kDone) return failed(st, "list checkpoints");
  return out;
}

Status SqliteStore::upsert_worker(const WorkerRow& w) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare(
      "INSERT INTO workers(id,name,platform,slots,score,tasks_done,tasks_failed,flagged,last_seen,"
      "disagreements) VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
      " name=excluded.name, platform=excluded.platform, slots=excluded.slots,"
      " score=excluded.score, tasks_done=excluded.tasks_done, tasks_failed=excluded.tasks_failed,"
      " flagged=excluded.flagged, last_seen=excluded.last_seen,"
      " disagreements=excluded.disagreements");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, w.id);
  st.bind_text(2, w.name);
  st.bind_text(3, w.platform);
  st.bind_int(4, w.slots);
  st.bind_double(5, w.score);
  st.bind_int64(6, w.tasks_done);
  st.bind_int64(7, w.tasks_failed);
  st.bind_int(8, w.flagged ? 1 : 0);
  st.bind_int64(9, w.last_seen);
  st.bind_int(10, w.disagreements);
  return run(st, "store worker");
}

namespace {

WorkerRow worker_row(const store::Statement& st) {
  WorkerRow w;
  w.id = st.column_text(0);
  w.name = st.column_text(1);
  w.platform = st.column_text(2);
  w.slots = st.column_int(3);
  w.score = st.column_double(4);
  w.tasks_done = st.column_int64(5);
  w.tasks_failed = st.column_int64(6);
  w.flagged = st.column_int(7) != 0;
  w.last_seen = st.column_int64(8);
  w.disagreements = st.column_int(9);
  return w;
}

}  // namespace

Result<std::vector<WorkerRow>> SqliteStore::workers() {
  auto q = prepare(
      "SELECT id,name,platform,slots,score,tasks_done,tasks_failed,flagged,last_seen,"
      "disagreements FROM workers ORDER BY last_seen DESC");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  std::vector<WorkerRow> out;
  while (st.step() == Step::kRow) out.push_back(worker_row(st));
  if (st.rc() != SQLITE_DONE) return failed(st, "read workers");
  return out;
}

Result<WorkerRow> SqliteStore::worker(const std::string& id) {
  auto q = prepare(
      "SELECT id,name,platform,slots,score,tasks_done,tasks_failed,flagged,last_seen,"
      "disagreements FROM workers WHERE id=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, id);
  const Step rc = st.step();
  if (rc == Step::kError) return failed(st, "read worker");
  if (rc != Step::kRow) return Status::NotFound(fmt::format("no worker '{}'", id));
  return worker_row(st);
}

Status SqliteStore::flag_worker(const std::string& id) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare(
      "UPDATE workers SET flagged=1, disagreements=disagreements+1,"
      " score=CASE WHEN disagreements<10 THEN score/2 ELSE score END WHERE id=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, id);
  return run(st, "flag worker");
}

Status SqliteStore::add_flag_evidence(const FlagRow& f) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q =
      prepare("INSERT INTO flags(worker,task,campaign,at,output,accepted) VALUES(?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  {
    store::ResetOnExit r(st);
    st.bind_text(1, f.worker);
    st.bind_int64(2, f.task);
    st.bind_text(3, f.campaign);
    st.bind_int64(4, f.at);
    st.bind_blob(5, f.output);
    st.bind_blob(6, f.accepted);
    W_RETURN_IF_ERROR(run(st, "store flag evidence"));
  }
  // Enough to show why; a worker that disagrees all day keeps 10 rows.
  auto trim_q = prepare(
      "DELETE FROM flags WHERE worker=? AND rowid NOT IN"
      " (SELECT rowid FROM flags WHERE worker=? ORDER BY at DESC, rowid DESC LIMIT 10)");
  if (!trim_q.ok()) return trim_q.status();
  store::Statement& trim = **trim_q;
  store::ResetOnExit r(trim);
  trim.bind_text(1, f.worker);
  trim.bind_text(2, f.worker);
  return run(trim, "trim flag evidence");
}

Result<std::vector<FlagRow>> SqliteStore::flag_evidence(const std::string& id, int limit) {
  auto q = prepare(
      "SELECT worker,task,campaign,at,output,accepted FROM flags WHERE worker=?"
      " ORDER BY at DESC, rowid DESC LIMIT ?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, id);
  st.bind_int(2, limit);
  std::vector<FlagRow> out;
  Step rc;
  while ((rc = st.step()) == Step::kRow) {
    FlagRow f;
    f.worker = st.column_text(0);
    f.task = st.column_int64(1);
    f.campaign = st.column_text(2);
    f.at = st.column_int64(3);
    f.output = st.column_blob(4);
    f.accepted = st.column_blob(5);
    out.push_back(std::move(f));
  }
  if (rc != Step::kDone) return failed(st, "load flag evidence");
  return out;
}

Status SqliteStore::unflag_worker(const std::string& id) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("UPDATE workers SET flagged=0 WHERE id=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_text(1, id);
  W_RETURN_IF_ERROR(run(st, "unflag worker"));
  if (db_.changes() == 0) return Status::NotFound(fmt::format("no worker '{}'", id));
  return {};
}

Result<std::vector<std::string>> SqliteStore::flagged_workers() {
  auto q = prepare("SELECT id FROM workers WHERE flagged=1");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  std::vector<std::string> out;
  while (st.step() == Step::kRow) out.push_back(st.column_text(0));
  if (st.rc() != SQLITE_DONE) return failed(st, "read flagged workers");
  return out;
}

Status SqliteStore::add_vote(int64_t campaign, const VoteRow& v) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare(
      "INSERT OR REPLACE INTO votes(task,worker,campaign,output,platform,ms) VALUES(?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, v.task);
  st.bind_text(2, v.worker);
  st.bind_int64(3, campaign);
  st.bind_blob(4, v.output);
  st.bind_text(5, v.platform);
  st.bind_double(6, v.ms);
  return run(st, "store vote");
}

Result<std::vector<VoteRow>> SqliteStore::votes(int64_t campaign, int64_t first_task,
                                                int64_t last_task) {
  auto q = prepare(
      "SELECT task,worker,platform,output,ms FROM votes WHERE campaign=? AND task BETWEEN ? AND ?"
      " ORDER BY task");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  st.bind_int64(2, first_task);
  st.bind_int64(3, last_task);
  std::vector<VoteRow> out;
  Step rc;
  while ((rc = st.step()) == Step::kRow) {
    VoteRow v;
    v.task = st.column_int64(0);
    v.worker = st.column_text(1);
    v.platform = st.column_text(2);
    v.output = st.column_blob(3);
    v.ms = st.column_double(4);
    out.push_back(std::move(v));
  }
  if (rc != Step::kDone) return failed(st, "load votes");
  return out;
}

Status SqliteStore::delete_votes(int64_t task) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("DELETE FROM votes WHERE task=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, task);
  return run(st, "delete votes");
}

}  // namespace w::pool
