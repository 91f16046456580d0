// The pool's store in a PostgreSQL database, through libpq. Internal to
// lib/src/pool: others see the Store interface (store.h), whose semantics
// this keeps, SqliteStore's line for line:
//   - every write joins one open transaction (BEGIN on the first write
//     after a commit), that commit() ends: group commit, and nothing is
//     acknowledged before the COMMIT that holds it returned;
//   - a result is stored once: results.task is UNIQUE and the insert says
//     ON CONFLICT DO NOTHING, so a second result (a duplicate, or one of
//     another pool) stores nothing and complete_task() answers false.
// A statement that fails inside the transaction aborts it (PostgreSQL's
// rule): every later statement and the commit() fail with that first
// error and the transaction is rolled back, so PoolServer stops (as it
// does on any failed commit) rather than acknowledge writes that are gone.
//
// Statements are prepared once per connection (the first time each runs,
// named by their SQL text) and run with binary parameters and results.
// Between transactions a broken connection (the server restarted) is
// opened again before the next statement.
//
// Several pools may share one database (Store::shared()): each start joins
// the table pools, queued_tasks() claims the tasks it returns (FOR UPDATE
// SKIP LOCKED: two pools never wait on each other for queued tasks, and
// never take the same), and keepalive() keeps the claims; a pool's claims
// lapse some seconds after its last keepalive, and its tasks go to the
// others (at once when its session is gone: WPOOL_LIVE_POOLS). A task run
// by two pools anyway (one was cut off from the
// database past the lapse) has its result stored once, by UNIQUE.
//
// The schema is wpool's own: wpool_schema holds its version and open()
// runs the missing steps (pg_store.cc) in one transaction under an
// advisory lock, so two pools starting on one database at once do not
// race. REQUIRES: used from one thread (the server's).
#pragma once

#include <libpq-fe.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store.h"

namespace w::pool {

/// True for what names a PostgreSQL database rather than a SQLite file: a
/// postgresql:// or postgres:// URL, or a libpq keyword string (its first
/// word "key=value", key in lower case letters and '_').
bool is_postgres_conninfo(std::string_view db);

/// `conninfo` with any password in it replaced by "***": what messages and
/// logs may show.
std::string redact_conninfo(std::string_view conninfo);

/// The parameters of one statement: up to kMax values, each with its
/// PostgreSQL type, in binary format. Views stay the caller's: the data
/// must outlive the call that runs the statement.
class PgArray;

class PgParams {
 public:
  static constexpr int kMax = 16;
  PgParams& i64(int64_t v);
  PgParams& f64(double v);
  PgParams& bytes(std::string_view v);  ///< bytea
  /// text: valid UTF-8 without NUL bytes passes as it is; anything else
  /// (which PostgreSQL would refuse, aborting the transaction) is stored
  /// with U+FFFD in place of each bad byte.
  PgParams& text(std::string_view v);
  /// An array (PgArray), which must outlive the call that runs the statement.
  PgParams& array(const PgArray& v);

  int size() const { return n_; }
  const Oid* types() const { return types_.data(); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  PgParams& add(Oid type, const char* data, size_t size);
  void check_room() const;
  int n_ = 0;
  std::array<Oid, kMax> types_{};
  std::array<const char*, kMax> values_{};
  std::array<int, kMax> lengths_{};
  std::array<int, kMax> formats_{};
  std::array<std::array<char, 8>, kMax> numbers_{};  ///< i64/f64, big-endian
  std::array<std::string, kMax> cleaned_;            ///< text() that had to be repaired
};

/// A one-dimensional array parameter in PostgreSQL's binary format, of one
/// element type: how a batch of rows goes in one statement (unnest($1,...)).
/// Elements are copied in; text is repaired as PgParams::text() does.
class PgArray {
 public:
  enum class Type { kInt8, kFloat8, kBytea, kText };
  explicit PgArray(Type type);
  PgArray& i64(int64_t v);
  PgArray& f64(double v);
  PgArray& bytes(std::string_view v);
  PgArray& text(std::string_view v);

  Oid type() const;  ///< the array's type (int8[], ...)
  /// The encoded array: its header, then every element appended so far.
  std::string_view data() const { return buf_; }

 private:
  void element(const char* data, size_t size);
  Type type_;
  uint32_t n_ = 0;
  std::string buf_;  ///< the header (its count kept up to date), then the elements
};

/// One result of libpq (binary format), freed when it goes.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r, PQclear) {}
  ExecStatusType status() const { return PQresultStatus(r_.get()); }
  /// The server's (or libpq's) message when status() is an error.
  const char* error() const { return PQresultErrorMessage(r_.get()); }
  int rows() const { return PQntuples(r_.get()); }
  /// Rows the command changed (INSERT, UPDATE, DELETE).
  int64_t changed() const;
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  /// An int2, int4 or int8 column (0 when NULL).
  int64_t i64(int row, int col) const;
  /// A float8 column (0 when NULL).
  double f64(int row, int col) const;
  /// A text or bytea column, as its bytes ("" when NULL).
  std::string str(int row, int col) const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

/// The ids of the live pools, as SQL: a row in pools not lapsed, and its
/// session connected (application_name "wpool pool <id>", set by join()).
#define WPOOL_LIVE_POOLS                                            \
  "SELECT p.id FROM pools p WHERE p.alive_until>now() AND EXISTS (" \
  "SELECT 1 FROM pg_stat_activity a WHERE a.application_name='wpool pool '||p.id)"

class PgStore final : public Store {
 public:
  /// Connects to `conninfo` (a URL or keyword string, see libpq) and
  /// creates or migrates wpool's tables (pg_store.cc).
  static Result<std::unique_ptr<PgStore>> open(const std::string& conninfo);
  ~PgStore() override;

  Status commit() override;
  bool dirty() const override { return in_txn_; }
  bool shared() const override { return true; }
  Status keepalive() override;
  int64_t pool_id() const override { return pool_; }
  Result<int64_t> other_pools() override;
  bool changed_elsewhere() override;
  Status release_tasks(std::span<const int64_t> tasks, bool for_others = false) override;
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
  enum class Kind { kRead, kWrite };
  PgStore(std::string conninfo, PGconn* conn);
  Status connect_again();
  /// Opens the transaction of writes unless one is open (BEGIN).
  Status begin_if_needed();
  Status migrate();
  /// Adds this pool to the database's pools (pool_).
  Status join();
  /// Sets the session's application_name to "wpool pool <pool_>".
  Status name_session();
  /// Hands back the tasks this pool claimed and leaves the pools.
  void leave();
  /// Runs a statement without parameters outside the prepared ones
  /// (BEGIN, COMMIT, the schema steps).
  Status exec_simple(const char* sql, const char* what);
  /// Runs `sql` (a literal: it names the prepared statement) with `params`;
  /// a kWrite statement first begins the transaction if none is open.
  Result<PgResult> run(const char* sql, const PgParams& params, const char* what,
                       Kind kind = Kind::kRead);
  /// "store: what in 'conninfo': the server's message", the password hidden.
  Status failed(const char* what, const char* message) const;

  std::string conninfo_;  ///< as given: what libpq connects with
  std::string shown_;     ///< redacted: what messages show
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn_;
  int64_t pool_ = 0;     ///< this pool's row in pools
  bool notify_ = false;  ///< the open transaction changed what other pools show
  bool in_txn_ = false;
  Status aborted_;  ///< the error that aborted the open transaction, if one did
  /// Prepared statements of this connection: SQL text -> name.
  std::unordered_map<std::string_view, std::string> prepared_;
  /// Tasks added but not yet sent: rows of a binary COPY (add_task()).
  void append_copy_row(int64_t id, int64_t campaign, int64_t seq, std::string_view input);
  Status flush_tasks();
  static constexpr int kIdBlock = 1000;               ///< task ids drawn at once
  static constexpr size_t kCopyFlushBytes = 4 << 20;  ///< sent once this big
  std::string copy_;
  int64_t copy_rows_ = 0;
  std::vector<int64_t> free_ids_;  ///< drawn, not yet used (last = next)
  /// What the open transaction added to each campaign's counts, written
  /// to this pool's rows of campaign_counts as it commits (flush_counts()).
  struct CountDelta {
    int64_t total = 0, done = 0, failed = 0;
  };
  std::unordered_map<int64_t, CountDelta> counts_;
  Status flush_counts();
  int statements_ = 0;  ///< statements ever prepared: their names stay unique
};

}  // namespace w::pool
