// PgStore's tables beside tasks and results (pg_store.h): checkpoints, the
// votes of replicated tasks, workers and their flags, once-keys and the
// workers of each campaign, as SqliteStore keeps them.
#include <fmt/format.h>

#include "pg_store.h"

namespace w::pool {

Status PgStore::save_checkpoint(int64_t task, std::string_view data) {
  return run("INSERT INTO checkpoints(task,data) VALUES($1,$2)"
             " ON CONFLICT(task) DO UPDATE SET data=excluded.data",
             PgParams().i64(task).bytes(data), "store checkpoint", Kind::kWrite)
      .status();
}

Result<std::string> PgStore::load_checkpoint(int64_t task) {
  auto r =
      run("SELECT data FROM checkpoints WHERE task=$1", PgParams().i64(task), "read checkpoint");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Status::NotFound(fmt::format("task {} has no checkpoint", task));
  return r->str(0, 0);
}

Status PgStore::delete_checkpoint(int64_t task) {
  return run("DELETE FROM checkpoints WHERE task=$1", PgParams().i64(task), "delete checkpoint",
             Kind::kWrite)
      .status();
}

Result<std::vector<int64_t>> PgStore::checkpointed_tasks() {
  auto r = run("SELECT task FROM checkpoints", PgParams(), "list checkpoints");
  if (!r.ok()) return r.status();
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->i64(i, 0));
  return out;
}

Status PgStore::upsert_worker(const WorkerRow& w) {
  return run("INSERT INTO workers(id,name,platform,slots,score,tasks_done,tasks_failed,flagged,"
             "last_seen,disagreements) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"
             " ON CONFLICT(id) DO UPDATE SET"
             " name=excluded.name, platform=excluded.platform, slots=excluded.slots,"
             " score=excluded.score, tasks_done=excluded.tasks_done,"
             " tasks_failed=excluded.tasks_failed, flagged=excluded.flagged,"
             " last_seen=excluded.last_seen, disagreements=excluded.disagreements",
             PgParams()
                 .text(w.id)
                 .text(w.name)
                 .text(w.platform)
                 .i64(w.slots)
                 .f64(w.score)
                 .i64(w.tasks_done)
                 .i64(w.tasks_failed)
                 .i64(w.flagged ? 1 : 0)
                 .i64(w.last_seen)
                 .i64(w.disagreements),
             "store worker", Kind::kWrite)
      .status();
}

namespace {

constexpr const char* kWorkerColumns =
    "id,name,platform,slots,score,tasks_done,tasks_failed,flagged,last_seen,disagreements";

WorkerRow worker_row(const PgResult& r, int i) {
  WorkerRow w;
  w.id = r.str(i, 0);
  w.name = r.str(i, 1);
  w.platform = r.str(i, 2);
  w.slots = static_cast<int>(r.i64(i, 3));
  w.score = r.f64(i, 4);
  w.tasks_done = r.i64(i, 5);
  w.tasks_failed = r.i64(i, 6);
  w.flagged = r.i64(i, 7) != 0;
  w.last_seen = r.i64(i, 8);
  w.disagreements = static_cast<int>(r.i64(i, 9));
  return w;
}

}  // namespace

Result<std::vector<WorkerRow>> PgStore::workers() {
  static const std::string sql =
      fmt::format("SELECT {} FROM workers ORDER BY last_seen DESC", kWorkerColumns);
  auto r = run(sql.c_str(), PgParams(), "read workers");
  if (!r.ok()) return r.status();
  std::vector<WorkerRow> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(worker_row(*r, i));
  return out;
}

Result<WorkerRow> PgStore::worker(const std::string& id) {
  static const std::string sql = fmt::format("SELECT {} FROM workers WHERE id=$1", kWorkerColumns);
  auto r = run(sql.c_str(), PgParams().text(id), "read worker");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Status::NotFound(fmt::format("no worker '{}'", id));
  return worker_row(*r, 0);
}

Status PgStore::flag_worker(const std::string& id) {
  return run("UPDATE workers SET flagged=1, disagreements=disagreements+1,"
             " score=CASE WHEN disagreements<10 THEN score/2 ELSE score END WHERE id=$1",
             PgParams().text(id), "flag worker", Kind::kWrite)
      .status();
}

Status PgStore::add_flag_evidence(const FlagRow& f) {
  W_RETURN_IF_ERROR(
      run("INSERT INTO flags(worker,task,campaign,at,output,accepted) VALUES($1,$2,$3,$4,$5,$6)",
          PgParams()
              .text(f.worker)
              .i64(f.task)
              .text(f.campaign)
              .i64(f.at)
              .bytes(f.output)
              .bytes(f.accepted),
          "store flag evidence", Kind::kWrite)
          .status());
  // Enough to show why; a worker that disagrees all day keeps 10 rows.
  return run("DELETE FROM flags WHERE worker=$1 AND id NOT IN"
             " (SELECT id FROM flags WHERE worker=$1 ORDER BY at DESC, id DESC LIMIT 10)",
             PgParams().text(f.worker), "trim flag evidence", Kind::kWrite)
      .status();
}

Result<std::vector<FlagRow>> PgStore::flag_evidence(const std::string& id, int limit) {
  auto r =
      run("SELECT worker,task,campaign,at,output,accepted FROM flags WHERE worker=$1"
          " ORDER BY at DESC, id DESC LIMIT $2",
          PgParams().text(id).i64(limit), "load flag evidence");
  if (!r.ok()) return r.status();
  std::vector<FlagRow> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    FlagRow f;
    f.worker = r->str(i, 0);
    f.task = r->i64(i, 1);
    f.campaign = r->str(i, 2);
    f.at = r->i64(i, 3);
    f.output = r->str(i, 4);
    f.accepted = r->str(i, 5);
    out.push_back(std::move(f));
  }
  return out;
}

Status PgStore::unflag_worker(const std::string& id) {
  auto r = run("UPDATE workers SET flagged=0 WHERE id=$1", PgParams().text(id), "unflag worker",
               Kind::kWrite);
  if (!r.ok()) return r.status();
  if (r->changed() == 0) return Status::NotFound(fmt::format("no worker '{}'", id));
  return {};
}

Result<std::vector<std::string>> PgStore::flagged_workers() {
  auto r = run("SELECT id FROM workers WHERE flagged=1", PgParams(), "read flagged workers");
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->str(i, 0));
  return out;
}

Status PgStore::add_vote(int64_t campaign, const VoteRow& v) {
  return run("INSERT INTO votes(task,worker,campaign,output,platform,ms) VALUES($1,$2,$3,$4,$5,$6)"
             " ON CONFLICT(task,worker) DO UPDATE SET campaign=excluded.campaign,"
             " output=excluded.output, platform=excluded.platform, ms=excluded.ms",
             PgParams()
                 .i64(v.task)
                 .text(v.worker)
                 .i64(campaign)
                 .bytes(v.output)
                 .text(v.platform)
                 .f64(v.ms),
             "store vote", Kind::kWrite)
      .status();
}

Result<std::vector<VoteRow>> PgStore::votes(int64_t campaign, int64_t first_task,
                                            int64_t last_task) {
  auto r =
      run("SELECT task,worker,platform,output,ms FROM votes"
          " WHERE campaign=$1 AND task BETWEEN $2 AND $3 ORDER BY task",
          PgParams().i64(campaign).i64(first_task).i64(last_task), "load votes");
  if (!r.ok()) return r.status();
  std::vector<VoteRow> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    VoteRow v;
    v.task = r->i64(i, 0);
    v.worker = r->str(i, 1);
    v.platform = r->str(i, 2);
    v.output = r->str(i, 3);
    v.ms = r->f64(i, 4);
    out.push_back(std::move(v));
  }
  return out;
}

Status PgStore::delete_votes(int64_t task) {
  return run("DELETE FROM votes WHERE task=$1", PgParams().i64(task), "delete votes", Kind::kWrite)
      .status();
}

Result<int64_t> PgStore::once_key_acked(int64_t campaign, const std::string& key) {
  W_RETURN_IF_ERROR(run("INSERT INTO once_keys(campaign,key,acked) VALUES($1,$2,0)"
                        " ON CONFLICT DO NOTHING",
                        PgParams().i64(campaign).text(key), "record once-key", Kind::kWrite)
                        .status());
  auto r = run("SELECT acked FROM once_keys WHERE campaign=$1 AND key=$2",
               PgParams().i64(campaign).text(key), "read once-key");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Status::Internal("store: a once-key just recorded is missing");
  return r->i64(0, 0);
}

Status PgStore::add_acked(int64_t campaign, const std::string& key, int64_t count) {
  return run("UPDATE once_keys SET acked=acked+$1 WHERE campaign=$2 AND key=$3 AND acked>=0",
             PgParams().i64(count).i64(campaign).text(key), "count once-key datasets", Kind::kWrite)
      .status();
}

Status PgStore::add_campaign_worker(int64_t campaign, const std::string& worker) {
  return run("INSERT INTO campaign_workers(campaign,worker) VALUES($1,$2) ON CONFLICT DO NOTHING",
             PgParams().i64(campaign).text(worker), "record campaign worker", Kind::kWrite)
      .status();
}

Result<std::vector<std::string>> PgStore::campaign_workers(int64_t campaign) {
  auto r = run("SELECT worker FROM campaign_workers WHERE campaign=$1", PgParams().i64(campaign),
               "read campaign workers");
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->str(i, 0));
  return out;
}

}  // namespace w::pool
