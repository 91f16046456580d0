// The store's tables of who submitted and who worked: the datasets each
// once-key had acknowledged (resumable submits) and the workers each
// campaign was given to (what a capability scoped to it may see).
#include "store.h"

#include "store_sql.h"

namespace w::pool {
using namespace store_sql;

Result<int64_t> Store::once_key_acked(int64_t campaign, const std::string& key) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* ins = prepare("INSERT OR IGNORE INTO once_keys(campaign,key,acked) VALUES(?,?,0)");
  if (!ins) return sql_error("prepare");
  {
    Reset r{ins};
    sqlite3_bind_int64(ins, 1, campaign);
    bind_text(ins, 2, key);
    if (sqlite3_step(ins) != SQLITE_DONE) return sql_error("record once-key");
  }
  sqlite3_stmt* st = prepare("SELECT acked FROM once_keys WHERE campaign=? AND key=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  bind_text(st, 2, key);
  if (sqlite3_step(st) != SQLITE_ROW) return sql_error("read once-key");
  return static_cast<int64_t>(sqlite3_column_int64(st, 0));
}

Status Store::add_acked(int64_t campaign, const std::string& key, int64_t count) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st =
      prepare("UPDATE once_keys SET acked=acked+? WHERE campaign=? AND key=? AND acked>=0");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, count);
  sqlite3_bind_int64(st, 2, campaign);
  bind_text(st, 3, key);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("count once-key datasets");
  return {};
}

Status Store::add_campaign_worker(int64_t campaign, const std::string& worker) {
  W_RETURN_IF_ERROR(begin_if_needed());
  sqlite3_stmt* st = prepare("INSERT OR IGNORE INTO campaign_workers(campaign,worker) VALUES(?,?)");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  bind_text(st, 2, worker);
  if (sqlite3_step(st) != SQLITE_DONE) return sql_error("record campaign worker");
  return {};
}

Result<std::vector<std::string>> Store::campaign_workers(int64_t campaign) {
  sqlite3_stmt* st = prepare("SELECT worker FROM campaign_workers WHERE campaign=?");
  if (!st) return sql_error("prepare");
  Reset r{st};
  sqlite3_bind_int64(st, 1, campaign);
  std::vector<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) out.push_back(column_text(st, 0));
  return out;
}

}  // namespace w::pool
