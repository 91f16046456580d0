// The store's tables of who submitted and who worked: the datasets each
// once-key had acknowledged (resumable submits) and the workers each
// campaign was given to (what a capability scoped to it may see).
#include "sqlite_store.h"

namespace w::pool {
using store::Step;

Result<int64_t> SqliteStore::once_key_acked(int64_t campaign, const std::string& key) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto iq = prepare("INSERT OR IGNORE INTO once_keys(campaign,key,acked) VALUES(?,?,0)");
  if (!iq.ok()) return iq.status();
  store::Statement& ins = **iq;
  {
    store::ResetOnExit r(ins);
    ins.bind_int64(1, campaign);
    ins.bind_text(2, key);
    W_RETURN_IF_ERROR(run(ins, "record once-key"));
  }
  auto q = prepare("SELECT acked FROM once_keys WHERE campaign=? AND key=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  st.bind_text(2, key);
  if (st.step() != Step::kRow) return failed(st, "read once-key");
  return static_cast<int64_t>(st.column_int64(0));
}

Status SqliteStore::add_acked(int64_t campaign, const std::string& key, int64_t count) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("UPDATE once_keys SET acked=acked+? WHERE campaign=? AND key=? AND acked>=0");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, count);
  st.bind_int64(2, campaign);
  st.bind_text(3, key);
  return run(st, "count once-key datasets");
}

Status SqliteStore::add_campaign_worker(int64_t campaign, const std::string& worker) {
  W_RETURN_IF_ERROR(begin_if_needed());
  auto q = prepare("INSERT OR IGNORE INTO campaign_workers(campaign,worker) VALUES(?,?)");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  st.bind_text(2, worker);
  return run(st, "record campaign worker");
}

Result<std::vector<std::string>> SqliteStore::campaign_workers(int64_t campaign) {
  auto q = prepare("SELECT worker FROM campaign_workers WHERE campaign=?");
  if (!q.ok()) return q.status();
  store::Statement& st = **q;
  store::ResetOnExit r(st);
  st.bind_int64(1, campaign);
  std::vector<std::string> out;
  while (st.step() == Step::kRow) out.push_back(st.column_text(0));
  if (st.rc() != SQLITE_DONE) return failed(st, "read campaign workers");
  return out;
}

}  // namespace w::pool
