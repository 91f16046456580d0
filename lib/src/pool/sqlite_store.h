// The pool's store in one SQLite file (WAL), through the store/ layer
// (w/store.h). Internal to lib/src/pool: others see the Store interface.
//
// Statements are prepared once per connection (Database::cached, keyed by
// their SQL literal) and reset after each use. Writes share one open
// transaction (BEGIN IMMEDIATE on the first write, see store.h) that
// commit() ends; the destructor commits what is still open.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "store.h"
#include "w/store.h"

namespace w::pool {

class SqliteStore final : public Store {
 public:
  /// Opens (or creates) the file and migrates its schema (store.cc).
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  ~SqliteStore() override;

  Status commit() override;
  bool dirty() const override { return txn_.has_value(); }
  Status put_kernel(const std::string& sha, const std::string& name, const std::string& platform,
                    const std::string& data) override;
  Result<std::string> kernel_data(const std::string& sha) override;
  Result<std::vector<std::vector<std::string>>> kernels() override;
  Result<int64_t> create_campaign(const CampaignSpec& spec) override;
  Result<std::vector<CampaignRow>> campaigns() override;
  Status set_campaign_state(int64_t id, const std::string& state) override;
  Status delete_campaign(int64_t id) override;
  Result<int64_t> once_key_acked(int64_t campaign, const std::string& key) override;
  Status add_acked(int64_t campaign, const std::string& key, int64_t count) override;
  Status add_campaign_worker(int64_t campaign, const std::string& worker) override;
  Result<std::vector<std::string>> campaign_workers(int64_t campaign) override;
  Result<int64_t> next_seq(int64_t campaign) override;
  Result<int64_t> add_task(int64_t campaign, int64_t seq, std::string_view input) override;
  Result<std::vector<TaskRow>> queued_tasks(int64_t campaign, int64_t after_id, int limit) override;
  Result<bool> complete_task(int64_t task, std::string_view output, const std::string& worker,
                             const std::string& platform, double ms) override;
  Result<std::vector<bool>> complete_tasks(std::span<const TaskResult> results) override;
  Result<bool> fail_attempt(int64_t task, const std::string& error, int max_attempts,
                            const std::string& worker) override;
  Result<std::vector<ResultRow>> results(int64_t campaign, int64_t since, int limit,
                                         int64_t after_row) override;
  Result<std::vector<ResultRow>> failures(int64_t campaign, int limit) override;
  Status save_checkpoint(int64_t task, std::string_view data) override;
  Result<std::string> load_checkpoint(int64_t task) override;
  Status delete_checkpoint(int64_t task) override;
  Result<std::vector<int64_t>> checkpointed_tasks() override;
  Status add_vote(int64_t campaign, const VoteRow& vote) override;
  Result<std::vector<VoteRow>> votes(int64_t campaign, int64_t first_task,
                                     int64_t last_task) override;
  Status delete_votes(int64_t task) override;
  Status upsert_worker(const WorkerRow& w) override;
  Result<std::vector<WorkerRow>> workers() override;
  Result<WorkerRow> worker(const std::string& id) override;
  Status flag_worker(const std::string& id) override;
  Status add_flag_evidence(const FlagRow& f) override;
  Result<std::vector<FlagRow>> flag_evidence(const std::string& id, int limit) override;
  Status unflag_worker(const std::string& id) override;
  Result<std::vector<std::string>> flagged_workers() override;

 private:
  explicit SqliteStore(store::Database db) : db_(std::move(db)) {}
  Status migrate();
  Status begin_if_needed();
  Result<bool> complete_one(const TaskResult& result);
  /// The statement for `sql` (a literal), reset when the caller's scope ends.
  Result<store::Statement*> prepare(const char* sql) { return db_.cached(sql); }
  /// Steps `st` to its end: "what in 'file': why" if it fails or returns a row.
  Status run(store::Statement& st, const char* what) const;
  /// Why `st`'s last step failed: "what in 'file': SQLite's message".
  Status failed(const store::Statement& st, const char* what) const;

  store::Database db_;
  std::optional<store::Transaction> txn_;  ///< the open group of writes, if any
};

}  // namespace w::pool
