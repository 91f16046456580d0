// The store's tables beside tasks and results: checkpoints, the votes of
// replicated tasks, and workers with their flags (see store.h).
#include "store.h"

#include <fmt/format.h>

#include "store_sql.h"

namespace w::pool {
using namespace store_sql;

Status Store::save_checkpoint(int64_t task, std::string_view data) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare("INSERT OR REPLACE INTO checkpoints(task,data) VALUES(?,?)");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, task);
  bind_blob(st, 2, data);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("store checkpoint");
  return {};
}

Result<std::string> Store::load_checkpoint(int64_t task) {
  sqlite3_stmt* st = prepare("SELECT data FROM checkpoints WHERE task=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, task);
  if (sqlite3_step(st) != SQLITE_ROW)
    return Status::NotFound(fmt::format("task {} has no checkpoint", task));
  return column_blob(st, 0);
}

Status Store::delete_checkpoint(int64_t task) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare("DELETE FROM checkpoints WHERE task=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, task);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("delete checkpoint");
  return {};
}

Result<std::vector<int64_t>> Store::checkpointed_tasks() {
  sqlite3_stmt* st = prepare("SELECT task FROM checkpoints");
  if (!st) return sql_error("prepare");
  Reset r{st};
  std::vector<int64_t> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.push_back(sqlite3_column_int64(st, 0));
  if (rc != SQLITE_DONE) return sql_error("list checkpoints");
  return out;
}

Status Store::upsert_worker(const WorkerRow& w) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare(
      "INSERT INTO workers(id,name,platform,slots,score,tasks_done,tasks_failed,flagged,last_seen,"
      "disagreements) VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
      " name=excluded.name, platform=excluded.platform, slots=excluded.slots,"
      " score=excluded.score, tasks_done=excluded.tasks_done, tasks_failed=excluded.tasks_failed,"
      " flagged=excluded.flagged, last_seen=excluded.last_seen,"
      " disagreements=excluded.disagreements");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, w.id);
  bind_text(st, 2, w.name);
  bind_text(st, 3, w.platform);
  sqlite3_bind_int(st, 4, w.slots);
  sqlite3_bind_double(st, 5, w.score);
  sqlite3_bind_int64(st, 6, w.tasks_done);
  sqlite3_bind_int64(st, 7, w.tasks_failed);
  sqlite3_bind_int(st, 8, w.flagged ? 1 : 0);
  sqlite3_bind_int64(st, 9, w.last_seen);
  sqlite3_bind_int(st, 10, w.disagreements);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("store worker");
  return {};
}

namespace {

WorkerRow worker_row(sqlite3_stmt* st) {
  WorkerRow w;
  w.id = column_text(st, 0);
  w.name = column_text(st, 1);
  w.platform = column_text(st, 2);
  w.slots = sqlite3_column_int(st, 3);
  w.score = sqlite3_column_double(st, 4);
  w.tasks_done = sqlite3_column_int64(st, 5);
  w.tasks_failed = sqlite3_column_int64(st, 6);
  w.flagged = sqlite3_column_int(st, 7) != 0;
  w.last_seen = sqlite3_column_int64(st, 8);
  w.disagreements = sqlite3_column_int(st, 9);
  return w;
}

}  // namespace

Result<std::vector<WorkerRow>> Store::workers() {
  sqlite3_stmt* st = prepare(
      "SELECT id,name,platform,slots,score,tasks_done,tasks_failed,flagged,last_seen,"
      "disagreements FROM workers ORDER BY last_seen DESC");
  if (!st) return sql_error("prepare");
  Reset r{st};
  std::vector<WorkerRow> out;
  while (sqlite3_step(st) == SQLITE_ROW) out.push_back(worker_row(st));
  return out;
}

Result<WorkerRow> Store::worker(const std::string& id) {
  sqlite3_stmt* st = prepare(
      "SELECT id,name,platform,slots,score,tasks_done,tasks_failed,flagged,last_seen,"
      "disagreements FROM workers WHERE id=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, id);
  if (sqlite3_step(st) != SQLITE_ROW) return Status::NotFound(fmt::format("no worker '{}'", id));
  return worker_row(st);
}

Status Store::flag_worker(const std::string& id) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare(
      "UPDATE workers SET flagged=1, disagreements=disagreements+1,"
      " score=CASE WHEN disagreements<10 THEN score/2 ELSE score END WHERE id=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, id);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("flag worker");
  return {};
}

Status Store::add_flag_evidence(const FlagRow& f) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st =
      prepare("INSERT INTO flags(worker,task,campaign,at,output,accepted) VALUES(?,?,?,?,?,?)");
  if (!st) return sql_error("prepare");
  {
    Reset r{st};
    bind_text(st, 1, f.worker);
    sqlite3_bind_int64(st, 2, f.task);
    bind_text(st, 3, f.campaign);
    sqlite3_bind_int64(st, 4, f.at);
    bind_blob(st, 5, f.output);
    bind_blob(st, 6, f.accepted);
    if (sqlite3_step(st) != SQLITE_DONE) return sql_error("store flag evidence");
  }
  // Enough to show why; a worker that disagrees all day keeps 10 rows.
  st = prepare(
      "DELETE FROM flags WHERE worker=? AND rowid NOT IN"
      " (SELECT rowid FROM flags WHERE worker=? ORDER BY at DESC, rowid DESC LIMIT 10)");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, f.worker);
  bind_text(st, 2, f.worker);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("trim flag evidence");
  return {};
}

Result<std::vector<FlagRow>> Store::flag_evidence(const std::string& id, int limit) {
  sqlite3_stmt* st = prepare(
      "SELECT worker,task,campaign,at,output,accepted FROM flags WHERE worker=?"
      " ORDER BY at DESC, rowid DESC LIMIT ?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, id);
  sqlite3_bind_int(st, 2, limit);
  std::vector<FlagRow> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    FlagRow f;
    f.worker = column_text(st, 0);
    f.task = sqlite3_column_int64(st, 1);
    f.campaign = column_text(st, 2);
    f.at = sqlite3_column_int64(st, 3);
    f.output = column_blob(st, 4);
    f.accepted = column_blob(st, 5);
    out.push_back(std::move(f));
  }
  if (rc != SQLITE_DONE) return sql_error("load flag evidence");
  return out;
}

Status Store::unflag_worker(const std::string& id) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare("UPDATE workers SET flagged=0 WHERE id=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  bind_text(st, 1, id);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("unflag worker");
  if (sqlite3_changes(db_) == 0) return Status::NotFound(fmt::format("no worker '{}'", id));
  return {};
}

Result<std::vector<std::string>> Store::flagged_workers() {
  sqlite3_stmt* st = prepare("SELECT id FROM workers WHERE flagged=1");
  if (!st) return sql_error("prepare");
  Reset r{st};
  std::vector<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) out.push_back(column_text(st, 0));
  return out;
}

Status Store::add_vote(int64_t campaign, const VoteRow& v) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare(
      "INSERT OR REPLACE INTO votes(task,worker,campaign,output,platform,ms) VALUES(?,?,?,?,?,?)");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, v.task);
  bind_text(st, 2, v.worker);
  sqlite3_bind_int64(st, 3, campaign);
  bind_blob(st, 4, v.output);
  bind_text(st, 5, v.platform);
  sqlite3_bind_double(st, 6, v.ms);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("store vote");
  return {};
}

Result<std::vector<VoteRow>> Store::votes(int64_t campaign, int64_t first_task, int64_t last_task) {
  sqlite3_stmt* st = prepare(
      "SELECT task,worker,platform,output,ms FROM votes WHERE campaign=? AND task BETWEEN ? AND ?"
      " ORDER BY task");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  sqlite3_bind_int64(st, 2, first_task);
  sqlite3_bind_int64(st, 3, last_task);
  std::vector<VoteRow> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    VoteRow v;
    v.task = sqlite3_column_int64(st, 0);
    v.worker = column_text(st, 1);
    v.platform = column_text(st, 2);
    v.output = column_blob(st, 3);
    v.ms = sqlite3_column_double(st, 4);
    out.push_back(std::move(v));
  }
  if (rc != SQLITE_DONE) return sql_error("load votes");
  return out;
}

Status Store::delete_votes(int64_t task) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare("DELETE FROM votes WHERE task=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, task);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("delete votes");
  return {};
}

}  // namespace w::pool
