// One SQLite layer: a connection, statements bound and read by type,
// transactions, and the one place a SQLite result code becomes a Status.
//
// Used by the pool's store (pool/store*.cc) and by wsql (sql/). It adds no
// policy of its own: what to open, which pragmas, which statements to keep
// is the user's; this only makes the C API hard to misuse (a statement is
// finalized by its owner, reset when a scope ends, a transaction rolled
// back when nobody committed it) and names every failure the same way:
// "what in 'file': SQLite's message".
//
// Threading: like the sqlite3* it wraps. The pool and wsql open their
// connections SQLITE_OPEN_NOMUTEX and use each from one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "w/status.h"

namespace w::store {

/// The one SQLite-code-to-Status helper: "what: message", where message is
/// the connection's (sqlite3_errmsg) when `db` is given, else SQLite's text
/// for `rc`. The code says what a caller may do about it: SQLITE_OK is ok;
/// BUSY and LOCKED (another connection holds the lock) kTempFail; INTERRUPT
/// kInterrupted; AUTH, PERM, READONLY and a symbolic link refused by
/// SQLITE_OPEN_NOFOLLOW kDenied; TOOBIG, CONSTRAINT, MISMATCH, RANGE,
/// NOTADB and CORRUPT kInvalid (the data, not the system); everything else
/// kIo, but CANTOPEN with `db` is kNotFound or kDenied when the system's
/// errno (sqlite3_system_errno) was ENOENT or EACCES/EPERM.
Status sqlite_status(int rc, sqlite3* db, std::string_view what);

/// The code sqlite_status() gives `rc` (without a connection to ask errno).
Code sqlite_code(int rc);

/// What one step of a statement produced.
enum class Step { kRow, kDone, kError };

/// One prepared statement, finalized by its owner. Columns and bound
/// parameters count as SQLite counts them: columns from 0, parameters from 1.
///
/// Text and blobs are bound without a copy (SQLITE_STATIC): the bytes must
/// stay alive until the statement is reset (a copy per bound value was 5%
/// of the pool's CPU with tiny tasks). A bind that fails (index out of
/// range, a value over SQLITE_LIMIT_LENGTH) is kept and reported by the
/// next step() as kError, so binds need no checks of their own.
class Statement {
 public:
  Statement() = default;
  /// Takes ownership of `st` (may be null: an empty statement).
  explicit Statement(sqlite3_stmt* st) : st_(st) {}
  ~Statement() { sqlite3_finalize(st_); }
  Statement(Statement&& o) noexcept : st_(o.st_), rc_(o.rc_), bind_rc_(o.bind_rc_) {
    o.st_ = nullptr;
  }
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Compiles the first statement of `sql` on `db` (flags: SQLITE_PREPARE_*).
  /// An `sql` with no statement in it (only spaces or comments) is kInvalid.
  static Result<Statement> prepare(sqlite3* db, std::string_view sql, unsigned flags = 0);
  /// prepare() for callers with an error taxonomy of their own (wsql's
  /// wire errors): returns SQLite's code and leaves `out` empty on failure
  /// or when `sql` holds no statement; `rest` (if given) gets the text
  /// after the first statement, so a caller can refuse a second one.
  static int prepare_rc(sqlite3* db, std::string_view sql, unsigned flags, Statement& out,
                        std::string_view* rest = nullptr);

  sqlite3_stmt* get() const { return st_; }
  explicit operator bool() const { return st_ != nullptr; }
  /// Gives up ownership: the caller finalizes the result.
  sqlite3_stmt* release();

  void bind_int(int i, int v) { keep(sqlite3_bind_int(st_, i, v)); }
  void bind_int64(int i, int64_t v) { keep(sqlite3_bind_int64(st_, i, v)); }
  void bind_double(int i, double v) { keep(sqlite3_bind_double(st_, i, v)); }
  void bind_null(int i) { keep(sqlite3_bind_null(st_, i)); }
  /// Binds text without a copy: `s` must outlive the steps (see above).
  void bind_text(int i, std::string_view s) {
    keep(sqlite3_bind_text64(st_, i, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  /// Binds a blob without a copy; an empty view binds a zero-length blob.
  void bind_blob(int i, std::string_view b) {
    keep(sqlite3_bind_blob64(st_, i, b.data(), b.size(), SQLITE_STATIC));
  }
  /// Binds a copy of `s` (SQLITE_TRANSIENT), for bytes that do not outlive the call.
  void bind_text_copy(int i, std::string_view s) {
    keep(sqlite3_bind_text64(st_, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  /// Binds a copy of the blob `b` (SQLITE_TRANSIENT).
  void bind_blob_copy(int i, std::string_view b) {
    keep(sqlite3_bind_blob64(st_, i, b.data(), b.size(), SQLITE_TRANSIENT));
  }
  /// Binds a copy of a value SQLite handed a user function (sqlite3_value).
  void bind_value(int i, const sqlite3_value* v) { keep(sqlite3_bind_value(st_, i, v)); }
  /// The code of the first bind that failed since the last reset (SQLITE_OK
  /// if none), for callers that name the failing value at once instead of
  /// waiting for step() (SQLITE_TOOBIG: the value passed SQLITE_LIMIT_LENGTH).
  int bind_rc() const { return bind_rc_; }
  /// How many parameters the statement has: the largest index, as SQLite counts.
  int bind_parameter_count() const { return sqlite3_bind_parameter_count(st_); }
  /// The name of parameter `i` with its prefix (":a", "?3"), or null for a plain "?".
  const char* bind_parameter_name(int i) const { return sqlite3_bind_parameter_name(st_, i); }
  /// True if the statement does not write to the database (sqlite3_stmt_readonly).
  bool readonly() const { return sqlite3_stmt_readonly(st_) != 0; }
  /// Bytes of memory the compiled statement uses (SQLite's own count).
  int64_t memory_used() const { return sqlite3_stmt_status(st_, SQLITE_STMTSTATUS_MEMUSED, 0); }

  /// Runs the statement to its next row. After kError, rc() and status()
  /// say why; the statement must be reset before it runs again.
  Step step() {
    rc_ = bind_rc_ == SQLITE_OK ? sqlite3_step(st_) : bind_rc_;
    return rc_ == SQLITE_ROW ? Step::kRow : rc_ == SQLITE_DONE ? Step::kDone : Step::kError;
  }
  /// Steps a statement that returns no rows (INSERT, UPDATE, DDL): ok when
  /// it is done; a row is kInternal (the caller's SQL is not what it thinks).
  Status run(std::string_view what);
  /// The result code of the last step or failed bind.
  int rc() const { return rc_; }
  /// sqlite_status() of the last step: "what: message".
  Status status(std::string_view what) const;

  /// Back to before the first step, bindings cleared.
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    rc_ = bind_rc_ = SQLITE_OK;
  }

  int column_count() const { return sqlite3_column_count(st_); }
  /// SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  int column_type(int i) const { return sqlite3_column_type(st_, i); }
  bool column_null(int i) const { return column_type(i) == SQLITE_NULL; }
  const char* column_name(int i) const { return sqlite3_column_name(st_, i); }
  int column_int(int i) const { return sqlite3_column_int(st_, i); }
  int64_t column_int64(int i) const { return sqlite3_column_int64(st_, i); }
  double column_double(int i) const { return sqlite3_column_double(st_, i); }
  /// Bytes of a text or blob column (of the others, as text), without
  /// copying it: known before the value is read or materialized.
  int column_bytes(int i) const { return sqlite3_column_bytes(st_, i); }
  /// The column as SQLite's value, for a user function's result (valid
  /// until the next step or reset).
  sqlite3_value* column_value(int i) const { return sqlite3_column_value(st_, i); }
  /// The column's bytes, valid until the next step, reset or conversion.
  std::string_view column_text_view(int i) const {
    const unsigned char* p = sqlite3_column_text(st_, i);
    return p ? std::string_view(reinterpret_cast<const char*>(p),
                                static_cast<size_t>(sqlite3_column_bytes(st_, i)))
             : std::string_view();
  }
  std::string_view column_blob_view(int i) const {
    const void* p = sqlite3_column_blob(st_, i);
    return p ? std::string_view(static_cast<const char*>(p),
                                static_cast<size_t>(sqlite3_column_bytes(st_, i)))
             : std::string_view();
  }
  /// Copies of the column (NULL reads as empty).
  std::string column_text(int i) const { return std::string(column_text_view(i)); }
  std::string column_blob(int i) const { return std::string(column_blob_view(i)); }

 private:
  void keep(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_OK;       ///< the last step's code
  int bind_rc_ = SQLITE_OK;  ///< the first failed bind's code, until reset
};

/// Resets a statement when the scope that uses it ends (cached statements
/// are reused, so each use leaves it as it found it).
class [[nodiscard]] ResetOnExit {
 public:
  explicit ResetOnExit(Statement& st) : st_(st) {}
  ~ResetOnExit() { st_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& st_;
};

/// One connection, closed by its owner, with the statements it keeps
/// prepared (cached()).
class Database {
 public:
  Database() = default;
  ~Database();
  Database(Database&& o) noexcept;
  Database& operator=(Database&& o) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Opens `path` with SQLITE_OPEN_* `flags` (add SQLITE_OPEN_CREATE to
  /// create it). Extended result codes are on, so rc() and sqlite_status()
  /// see e.g. SQLITE_CANTOPEN_SYMLINK.
  static Result<Database> open(const std::string& path, int flags);

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

  /// Runs SQL without results, any number of statements ("BEGIN; ...").
  Status exec(const char* sql);
  Status exec(const std::string& sql) { return exec(sql.c_str()); }
  /// How long a statement waits for another connection's lock before
  /// SQLITE_BUSY (sqlite3_busy_timeout).
  void busy_timeout(int ms) { sqlite3_busy_timeout(db_, ms); }
  /// journal_mode=WAL; kIo if the file stays in another mode (":memory:").
  Status wal();

  /// A new statement of the caller's.
  Result<Statement> prepare(std::string_view sql, unsigned flags = 0) const;
  /// The connection's statement for `sql`, prepared once (PERSISTENT) and
  /// kept until the Database closes. Keyed by the address of `sql`: pass
  /// string literals only, so that the pointer names the statement. The
  /// caller resets it after use (ResetOnExit).
  Result<Statement*> cached(const char* sql);

  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  /// Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t changes() const { return sqlite3_changes64(db_); }
  /// sqlite_status() of the connection's last error: "what in 'path': message".
  Status error(std::string_view what) const;

 private:
  void close();
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<const char*, Statement> cache_;
};

/// BEGIN ... COMMIT, rolled back when it goes out of scope uncommitted
/// (an early return on an error undoes what the scope wrote).
class [[nodiscard]] Transaction {
 public:
  enum class Mode { kDeferred, kImmediate, kExclusive };
  /// BEGIN in `mode`. IMMEDIATE (the default) takes the write lock at
  /// once, so a writer waits for it here and never fails half way.
  static Result<Transaction> begin(Database& db, Mode mode = Mode::kImmediate);
  ~Transaction();
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&& o) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// COMMIT. If it fails the transaction is rolled back: either way it is over.
  Status commit();
  /// ROLLBACK now instead of at the end of the scope.
  Status rollback();
  bool active() const { return db_ != nullptr; }

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_ = nullptr;  ///< null once committed or rolled back
};

}  // namespace w::store
