// PgStore's kernels, campaigns, tasks and results (pg_store.h): the
// statements of SqliteStore's store.cc in PostgreSQL's dialect.
#include <endian.h>

#include <algorithm>
#include <ctime>
#include <unordered_map>

#include <fmt/format.h>

#include "pg_store.h"

namespace w::pool {
namespace {

int64_t now_s() {
  return static_cast<int64_t>(std::time(nullptr));
}

}  // namespace

Status PgStore::put_kernel(const std::string& sha, const std::string& name,
                           const std::string& platform, const std::string& data) {
  return run("INSERT INTO kernels(sha256,name,platform,data,added) VALUES($1,$2,$3,$4,$5)"
             " ON CONFLICT(sha256) DO UPDATE SET name=excluded.name",
             PgParams().text(sha).text(name).text(platform).bytes(data).i64(now_s()),
             "store kernel", Kind::kWrite)
      .status();
}

Result<std::string> PgStore::kernel_data(const std::string& sha) {
  auto r = run("SELECT data FROM kernels WHERE sha256=$1", PgParams().text(sha), "read kernel");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Status::NotFound(fmt::format("no kernel {}", sha));
  return r->str(0, 0);
}

Result<std::vector<std::vector<std::string>>> PgStore::kernels() {
  auto r = run("SELECT sha256,name,platform,octet_length(data)::text FROM kernels ORDER BY added",
               PgParams(), "read kernels");
  if (!r.ok()) return r.status();
  std::vector<std::vector<std::string>> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({r->str(i, 0), r->str(i, 1), r->str(i, 2), r->str(i, 3)});
  return out;
}

Result<int64_t> PgStore::create_campaign(const CampaignSpec& c) {
  auto r = run(
      "INSERT INTO campaigns(name,kernel,static,timeout_ms,max_attempts,replicas,quorum,priority,"
      "created,kernel_wasm,group_size,quorum_tolerance,speculate)"
      " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)"
      " ON CONFLICT(name) DO NOTHING RETURNING id",
      PgParams()
          .text(c.name)
          .text(c.kernel_sha)
          .bytes(c.static_data)
          .i64(c.timeout_ms)
          .i64(c.max_attempts)
          .i64(c.replicas)
          .i64(c.quorum)
          .i64(c.priority)
          .i64(now_s())
          .text(c.kernel_wasm)
          .i64(c.group)
          .f64(c.quorum_tolerance)
          .i64(c.speculate ? 1 : 0),
      "create campaign", Kind::kWrite);
  if (!r.ok()) return r.status();
  notify_ = true;
  // Another pool on the database created it since this one last looked.
  if (r->rows() == 0)
    return Status(
        Code::kTempFail,
        fmt::format("campaign '{}' was just created through another pool; try again", c.name));
  return r->i64(0, 0);
}

Result<std::vector<CampaignRow>> PgStore::campaigns() {
  // The counts include this transaction's own writes, as count(*) would.
  W_RETURN_IF_ERROR(flush_counts());
  counts_.clear();
  auto r = run(
      "SELECT c.id,c.name,c.kernel,c.static,c.timeout_ms,c.max_attempts,c.replicas,c.quorum,"
      "c.priority,c.state,c.created,"
      " coalesce(n.total,0), coalesce(n.done,0), coalesce(n.failed,0),"
      " c.kernel_wasm, c.group_size, c.quorum_tolerance, c.speculate"
      " FROM campaigns c LEFT JOIN (SELECT campaign, sum(total)::bigint AS total,"
      "  sum(done)::bigint AS done,"
      " sum(failed)::bigint AS failed FROM campaign_counts GROUP BY campaign) n ON n.campaign=c.id"
      " ORDER BY c.id",
      PgParams(), "read campaigns");
  if (!r.ok()) return r.status();
  std::vector<CampaignRow> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    CampaignRow c;
    c.id = r->i64(i, 0);
    c.spec.name = r->str(i, 1);
    c.spec.kernel_sha = r->str(i, 2);
    c.spec.static_data = r->str(i, 3);
    c.spec.timeout_ms = r->i64(i, 4);
    c.spec.max_attempts = static_cast<int>(r->i64(i, 5));
    c.spec.replicas = static_cast<int>(r->i64(i, 6));
    c.spec.quorum = static_cast<int>(r->i64(i, 7));
    c.spec.priority = static_cast<int>(r->i64(i, 8));
    c.state = r->str(i, 9);
    c.created = r->i64(i, 10);
    c.total = r->i64(i, 11);
    c.done = r->i64(i, 12);
    c.failed = r->i64(i, 13);
    c.spec.kernel_wasm = r->str(i, 14);
    c.spec.group = static_cast<int>(r->i64(i, 15));
    c.spec.quorum_tolerance = r->f64(i, 16);
    c.spec.speculate = r->i64(i, 17) != 0;
    out.push_back(std::move(c));
  }
  return out;
}

Status PgStore::set_campaign_state(int64_t id, const std::string& state) {
  notify_ = true;
  return run("UPDATE campaigns SET state=$1 WHERE id=$2", PgParams().text(state).i64(id),
             "update campaign", Kind::kWrite)
      .status();
}

Status PgStore::delete_campaign(int64_t id) {
  notify_ = true;
  counts_.erase(id);
  for (const char* sql :
       {"DELETE FROM checkpoints WHERE task IN (SELECT id FROM tasks WHERE campaign=$1)",
        "DELETE FROM votes WHERE campaign=$1", "DELETE FROM results WHERE campaign=$1",
        "DELETE FROM tasks WHERE campaign=$1", "DELETE FROM once_keys WHERE campaign=$1",
        "DELETE FROM campaign_workers WHERE campaign=$1",
        "DELETE FROM campaign_counts WHERE campaign=$1", "DELETE FROM campaigns WHERE id=$1"}) {
    W_RETURN_IF_ERROR(run(sql, PgParams().i64(id), "delete campaign", Kind::kWrite).status());
  }
  return {};
}

Result<int64_t> PgStore::next_seq(int64_t campaign) {
  // Two pools taking submits to one campaign would number datasets alike
  // (and fail UNIQUE(campaign, seq)): the campaign's row lock, held to the
  // end of the transaction that adds the tasks, makes them take turns.
  auto lock = run("SELECT id FROM campaigns WHERE id=$1 FOR UPDATE", PgParams().i64(campaign),
                  "lock campaign", Kind::kWrite);
  if (!lock.ok()) return lock.status();
  auto r = run("SELECT coalesce(max(seq)+1,0) FROM tasks WHERE campaign=$1",
               PgParams().i64(campaign), "next seq");
  if (!r.ok()) return r.status();
  return r->i64(0, 0);
}

// Tasks are the one write that comes by thousands (a submit's batch): one
// round trip each was most of a submit's time (6,000 tasks/s against
// SQLite's 90,000). So add_task() takes its id from a block drawn from the
// table's sequence in one query and only appends the row to a binary COPY
// buffer; flush_tasks() sends the buffer before any other statement and
// before COMMIT, so reads still see the transaction's own writes. An error
// of the COPY (a duplicate seq, say) aborts the transaction as an error of
// the INSERT would have.
Result<int64_t> PgStore::add_task(int64_t campaign, int64_t seq, std::string_view input) {
  if (free_ids_.empty()) {
    // Drawn in the transaction, with the BEGIN this write needs anyway.
    auto r =
        run("SELECT nextval(pg_get_serial_sequence('tasks','id'))"
            " FROM generate_series(1,$1)",
            PgParams().i64(kIdBlock), "draw task ids", Kind::kWrite);
    if (!r.ok()) return r.status();
    for (int i = r->rows() - 1; i >= 0; --i) free_ids_.push_back(r->i64(i, 0));
    if (free_ids_.empty()) return Status::Internal("store: the task id sequence gave no ids");
  }
  const int64_t id = free_ids_.back();
  free_ids_.pop_back();
  if (!aborted_.ok()) return aborted_;
  W_RETURN_IF_ERROR(begin_if_needed());
  append_copy_row(id, campaign, seq, input);
  ++counts_[campaign].total;
  if (copy_.size() >= kCopyFlushBytes) W_RETURN_IF_ERROR(flush_tasks());
  return id;
}

void PgStore::append_copy_row(int64_t id, int64_t campaign, int64_t seq, std::string_view input) {
  // PostgreSQL's binary COPY format: per row the field count (int16), then
  // each field's length (int32) and bytes, all big-endian.
  auto put16 = [&](uint16_t v) {
    v = htobe16(v);
    copy_.append(reinterpret_cast<const char*>(&v), 2);
  };
  auto put32 = [&](uint32_t v) {
    v = htobe32(v);
    copy_.append(reinterpret_cast<const char*>(&v), 4);
  };
  auto put_i64 = [&](int64_t v) {
    put32(8);
    const uint64_t be = htobe64(static_cast<uint64_t>(v));
    copy_.append(reinterpret_cast<const char*>(&be), 8);
  };
  put16(4);
  put_i64(id);
  put_i64(campaign);
  put_i64(seq);
  put32(static_cast<uint32_t>(input.size()));
  copy_.append(input);
  ++copy_rows_;
}

Status PgStore::flush_tasks() {
  if (copy_rows_ == 0) return {};
  notify_ = true;
  static constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";  // + flags, extension
  static constexpr char kTrailer[] = "\xff\xff";
  std::string data;
  data.reserve(sizeof kHeader - 1 + copy_.size() + 2);
  data.append(kHeader, sizeof kHeader - 1);
  data.append(copy_);
  data.append(kTrailer, 2);
  copy_.clear();
  copy_rows_ = 0;
  Status s = [&]() -> Status {
    PgResult start(
        PQexec(conn_.get(), "COPY tasks(id,campaign,seq,input) FROM STDIN (FORMAT binary)"));
    if (start.status() != PGRES_COPY_IN)
      return failed("add tasks", *start.error() ? start.error() : PQerrorMessage(conn_.get()));
    if (PQputCopyData(conn_.get(), data.data(), static_cast<int>(data.size())) != 1 ||
        PQputCopyEnd(conn_.get(), nullptr) != 1)
      return failed("add tasks", PQerrorMessage(conn_.get()));
    Status out;
    while (PGresult* raw = PQgetResult(conn_.get())) {
      PgResult r(raw);
      if (r.status() != PGRES_COMMAND_OK && out.ok())
        out = failed("add tasks", *r.error() ? r.error() : PQerrorMessage(conn_.get()));
    }
    return out;
  }();
  if (!s.ok()) aborted_ = s;
  return s;
}

// Claims up to `limit` queued tasks for this pool, oldest first: those no
// live pool claimed, skipping rows another pool's open transaction holds
// (it is claiming or finishing them), so pools never wait on each other
// here. The claim is a write of the open transaction: until it commits,
// the rows stay locked against the others' claims.
Result<std::vector<TaskRow>> PgStore::queued_tasks(int64_t campaign, int64_t after_id, int limit) {
  auto r = run(
      "WITH live AS MATERIALIZED (" WPOOL_LIVE_POOLS
      "),"
      " c AS (SELECT id FROM tasks WHERE campaign=$2 AND state=0 AND id>$3"
      "   AND (pool IS NULL OR pool NOT IN (SELECT id FROM live)) AND pool IS DISTINCT FROM -$1"
      "   ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)"
      " UPDATE tasks t SET pool=$1 FROM c WHERE t.id=c.id"
      " RETURNING t.id,t.seq,t.input,t.attempts,"
      "   EXISTS(SELECT 1 FROM checkpoints k WHERE k.task=t.id)::int",
      PgParams().i64(pool_).i64(campaign).i64(after_id).i64(limit), "claim tasks", Kind::kWrite);
  if (!r.ok()) return r.status();
  std::vector<TaskRow> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    TaskRow t;
    t.id = r->i64(i, 0);
    t.campaign = campaign;
    t.seq = r->i64(i, 1);
    t.input = r->str(i, 2);
    t.attempts = static_cast<int>(r->i64(i, 3));
    t.checkpointed = r->i64(i, 4) != 0;
    out.push_back(std::move(t));
  }
  // RETURNING keeps no order.
  std::sort(out.begin(), out.end(), [](const TaskRow& a, const TaskRow& b) { return a.id < b.id; });
  return out;
}

Status PgStore::release_tasks(std::span<const int64_t> tasks, bool for_others) {
  if (tasks.empty()) return {};
  notify_ = true;  // the other pools look for them at once
  PgArray ids(PgArray::Type::kInt8);
  for (int64_t id : tasks) ids.i64(id);
  // Handed on for others: pool = -this pool, which queued_tasks() skips
  // here and no live pool's id matches elsewhere.
  return run("UPDATE tasks SET pool=NULLIF($3,0) WHERE id=ANY($1::bigint[]) AND pool=$2",
             PgParams().array(ids).i64(pool_).i64(for_others ? -pool_ : 0), "hand back tasks",
             Kind::kWrite)
      .status();
}

// One statement, one round trip: the task leaves state 0 and its result is
// inserted, or neither happens. The UNIQUE results.task makes a second
// result (the task finished already, here or by another pool) insert
// nothing rather than fail the transaction; the count of inserted rows is
// the answer.
Result<bool> PgStore::complete_task(int64_t task, std::string_view output,
                                    const std::string& worker, const std::string& platform,
                                    double ms) {
  auto r =
      run("WITH t AS (UPDATE tasks SET state=2 WHERE id=$1 AND state=0 RETURNING campaign)"
          " INSERT INTO results(task,campaign,output,worker,platform,ms)"
          " SELECT $1,campaign,$2,$3,$4,$5 FROM t ON CONFLICT(task) DO NOTHING RETURNING campaign",
          PgParams().i64(task).bytes(output).text(worker).text(platform).f64(ms), "complete task",
          Kind::kWrite);
  if (!r.ok()) return r.status();
  if (r->rows() != 1) return false;
  ++counts_[r->i64(0, 0)].done;
  return true;
}

// A worker's batch of results in one statement, one round trip: the rows
// go as arrays, unnest() turns them back into rows, and the statement is
// complete_task()'s for all of them at once. A task twice in the batch
// is sent once (its first result): UPDATE ... FROM would pick one of the
// two unpredictably, and the loop it replaces stores the first. The
// results are inserted in the batch's order (ORDER BY ord), so results.id
// keeps the order they finished in; RETURNING names the tasks whose
// result was inserted, the ones answered true.
Result<std::vector<bool>> PgStore::complete_tasks(std::span<const TaskResult> results) {
  std::vector<bool> stored(results.size(), false);
  std::unordered_map<int64_t, size_t> first;  // task -> its index in `results`
  first.reserve(results.size());
  PgArray tasks(PgArray::Type::kInt8), outputs(PgArray::Type::kBytea);
  PgArray workers(PgArray::Type::kText), platforms(PgArray::Type::kText);
  PgArray ms(PgArray::Type::kFloat8);
  for (size_t i = 0; i < results.size(); ++i) {
    const TaskResult& r = results[i];
    if (!first.emplace(r.task, i).second) continue;
    tasks.i64(r.task);
    outputs.bytes(r.output);
    workers.text(r.worker);
    platforms.text(r.platform);
    ms.f64(r.ms);
  }
  if (first.empty()) return stored;
  auto r =
      run("WITH r AS (SELECT * FROM unnest($1::bigint[],$2::bytea[],$3::text[],$4::text[],"
          "   $5::float8[]) WITH ORDINALITY AS r(task,output,worker,platform,ms,ord)),"
          " t AS (UPDATE tasks SET state=2 FROM r WHERE tasks.id=r.task AND tasks.state=0"
          "   RETURNING tasks.id,tasks.campaign,r.output,r.worker,r.platform,r.ms,r.ord)"
          " INSERT INTO results(task,campaign,output,worker,platform,ms)"
          " SELECT id,campaign,output,worker,platform,ms FROM t ORDER BY ord"
          " ON CONFLICT(task) DO NOTHING RETURNING task,campaign",
          PgParams().array(tasks).array(outputs).array(workers).array(platforms).array(ms),
          "complete tasks", Kind::kWrite);
  if (!r.ok()) return r.status();
  for (int row = 0; row < r->rows(); ++row) {
    auto it = first.find(r->i64(row, 0));
    if (it != first.end()) stored[it->second] = true;
    ++counts_[r->i64(row, 1)].done;
  }
  return stored;
}

// A failed attempt, and the task's failure record once it has run out of
// attempts, in one statement as above.
Result<bool> PgStore::fail_attempt(int64_t task, const std::string& error, int max_attempts,
                                   const std::string& worker) {
  auto r =
      run("WITH t AS (UPDATE tasks SET attempts=attempts+1,"
          "  errors=errors || CASE WHEN errors='' THEN '' ELSE '; ' END || $1,"
          "  state=CASE WHEN attempts+1>=$2 THEN 3 ELSE 0 END"
          "  WHERE id=$3 AND state=0 RETURNING state, errors, campaign),"
          " f AS (INSERT INTO results(task,campaign,error,worker,platform,ms)"
          "  SELECT $3,campaign,errors,$4,'',0 FROM t WHERE state=3"
          "  ON CONFLICT(task) DO NOTHING RETURNING 1)"
          " SELECT (SELECT count(*) FROM f), (SELECT campaign FROM t)",
          PgParams().text(error).i64(max_attempts).i64(task).text(worker), "record failure",
          Kind::kWrite);
  if (!r.ok()) return r.status();
  if (r->i64(0, 0) != 1) return false;
  ++counts_[r->i64(0, 1)].failed;
  return true;
}

Result<std::vector<ResultRow>> PgStore::results(int64_t campaign, int64_t since, int limit,
                                                int64_t after_row) {
  // With after_row the page starts past it (an index seek); without, it
  // walks past `since` rows.
  auto r =
      run("SELECT r.id,r.task,t.seq,t.input,r.output,r.error,r.worker,r.platform,r.ms"
          " FROM results r JOIN tasks t ON t.id=r.task"
          " WHERE r.campaign=$1 AND r.id>$2 ORDER BY r.id LIMIT $3 OFFSET $4",
          PgParams().i64(campaign).i64(after_row).i64(limit).i64(after_row >= 0 ? 0 : since),
          "read results");
  if (!r.ok()) return r.status();
  std::vector<ResultRow> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    ResultRow row;
    row.row = r->i64(i, 0);
    row.task = r->i64(i, 1);
    row.seq = r->i64(i, 2);
    row.input = r->str(i, 3);
    row.output = r->str(i, 4);
    row.error = r->str(i, 5);
    row.worker = r->str(i, 6);
    row.platform = r->str(i, 7);
    row.ms = r->f64(i, 8);
    out.push_back(std::move(row));
  }
  return out;
}

Result<std::vector<ResultRow>> PgStore::failures(int64_t campaign, int limit) {
  auto r = run(
      "SELECT r.task,t.seq,r.error,r.worker FROM results r JOIN tasks t ON t.id=r.task"
      " WHERE r.campaign=$1 AND r.error IS NOT NULL AND r.error<>'' ORDER BY r.id DESC LIMIT $2",
      PgParams().i64(campaign).i64(limit), "read failures");
  if (!r.ok()) return r.status();
  std::vector<ResultRow> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    ResultRow row;
    row.task = r->i64(i, 0);
    row.seq = r->i64(i, 1);
    row.error = r->str(i, 2);
    row.worker = r->str(i, 3);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace w::pool
