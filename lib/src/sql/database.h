// One served SQLite database: its connection, the authorizer that enforces
// a capability's rights inside SQLite, a statement cache bounded in bytes,
// the limits of the request running on it, and the open group-commit
// transaction.
//
// Threading: a Database is used by one thread at a time: the server's
// event loop, or its own Worker thread while a request handed off the loop
// runs there (busy() is true from the hand-off until the task returned;
// the engine touches the Database only when it is false).
//
// Rights enforcement: begin_request() sets the rights the authorizer
// applies while statements are prepared (SQLite asks it at prepare time,
// and again if a statement is re-prepared after a schema change). Cached
// statements are keyed by rights and text, so a statement prepared under
// one capability is never reused under another.
//
// Time: a request's statements stop at its deadline (the budget of the
// whole message) through the progress handler. On the event loop they
// also stop at the end of a short slice, and a statement that is not yet
// compiled, or a lock held by another process, stops them at once: the
// request is then yielded (yielded()), rolled back, and run again on the
// worker thread, where compiling, waiting and long work hurt no one else.
//
// Group commit: writes run inside one long transaction (BEGIN IMMEDIATE on
// the first write), each request in its own savepoint so a failing request
// rolls back alone; commit() ends the group. Every group has a number,
// unique in the process; a reply names the groups it depends on and is
// sent only after they were committed, so an acknowledged write is on disk
// (WAL with synchronous=FULL).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "functions.h"
#include "request.h"
#include "w/status.h"
#include "w/store.h"
#include "worker.h"

namespace w::sql {

/// Monotonic clock in nanoseconds.
int64_t now_ns();

/// Limits SQLite applies to every statement (documented in wsql(1)).
inline constexpr int kMaxSqlBytes = 128 << 10;   ///< one statement's text
inline constexpr int kMaxValueBytes = 64 << 20;  ///< one string or blob
/// The statement cache of one database: this many bytes of compiled
/// statements (SQLite's own count) and this many statements.
inline constexpr size_t kCacheBytes = 4u << 20;
inline constexpr size_t kCacheCount = 256;

struct DatabaseOptions {
  int busy_ms = 2000;  ///< how long a statement waits for another process's lock
  std::vector<std::pair<std::string, std::string>> maps;  ///< CSV tables: name, file
  std::string csv_module;  ///< path of the csvtable extension (needed with maps)
};

/// What one request may do on a Database, set by begin_request().
struct RequestLimits {
  uint32_t rights = 0;
  int64_t deadline_ns = 0;                    ///< monotonic; 0 = none
  int64_t slice_ns = 0;                       ///< on the loop: yield after this; 0 = none
  const std::atomic<bool>* cancel = nullptr;  ///< set by another thread to stop
  bool on_loop = false;                       ///< yield instead of compiling or waiting for a lock
};

class Database {
 public:
  /// Opens `path` (":memory:" for an in-memory database). Without `create`
  /// a missing file is Code::kNotFound; a symbolic link anywhere in `path`
  /// is Code::kDenied (SQLITE_OPEN_NOFOLLOW, also for the WAL and SHM).
  static Result<std::unique_ptr<Database>> open(std::string name, const std::string& path,
                                                bool create, const DatabaseOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& name() const { return name_; }
  sqlite3* handle() { return db_; }

  /// Starts a request under `limits`; end_request() lifts them.
  void begin_request(const RequestLimits& limits);
  void end_request();
  /// Why a request on the loop stopped to be run again on the worker.
  enum class Yield { kNone, kSlice, kCompile, kLock };
  Yield yielded() const { return yield_; }
  /// True once the request has used up its time budget or was cancelled.
  bool past_deadline() const;

  /// A ready statement for `sql` (cached, reset, bindings cleared). With
  /// `internal` the authorizer lets everything through: only for SQL the
  /// server wrote itself with quoted names. One statement only. A statement
  /// handed out stays valid until 8 more were prepared or the request ends.
  Error prepare(std::string_view sql, store::Statement** out, bool internal = false);

  /// Runs SQL the server wrote itself (no results).
  Error exec_internal(std::string_view sql);

  /// Opens the group transaction if needed, then a savepoint for one request.
  Error begin_write();
  /// Releases the request's savepoint, or rolls back to it if !ok.
  void end_write(bool ok);
  bool in_group() const { return in_group_; }
  /// The open group's number (valid while in_group()).
  uint64_t group() const { return group_; }
  /// Writes the group to disk; on failure rolls it back and says why.
  Error commit();

  /// Turns a SQLite result code (and the connection's message) into an
  /// Error: the kind is store::sqlite_code()'s, read in the request's
  /// context (a yield, a cancel, a right the capability lacks).
  Error error_from(int rc);
  /// error_from() of a statement's last step.
  Error error_from(const store::Statement& st) { return error_from(st.rc()); }

  /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  int64_t changes() const { return sqlite3_changes64(db_); }
  /// The rowid of the last row inserted on this connection.
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

  /// The thread this database's handed-off requests run on (made on first use).
  Worker& worker();
  /// True while a task posted to worker() has not returned.
  bool busy() const { return worker_ && worker_->pending() > 0; }
  /// Bytes of compiled statements in the cache.
  size_t cache_bytes() const { return cache_bytes_; }

 private:
  struct Cached {
    store::Statement stmt;  // finalized when evicted or when the Database closes
    size_t bytes = 0;
    uint64_t used = 0;  // tick_ when last handed out
  };

  Database() = default;
  static int authorize(void* self, int action, const char* a1, const char* a2, const char* db,
                       const char* trigger);
  static int progress(void* self);
  static int busy_wait(void* self, int count);
  int decide(int action, const char* a1, const char* a2, const char* db);
  Status setup(const DatabaseOptions& options);
  void trim_cache(uint64_t keep_recent);

  std::string name_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<GuardedFunctions> functions_;  // used by db_: closed after it
  int busy_ms_ = 2000;
  RequestLimits limits_;
  Yield yield_ = Yield::kNone;
  bool internal_ = false;        // set while the server's own statements are prepared or run
  std::string creating_;         // table a CREATE TABLE/INDEX being prepared builds
  bool creating_table_ = false;  // ...and it is a table (a SELECT then means AS SELECT)
  std::string dropping_;         // table a DROP being prepared removes
  bool altering_ = false;        // an ALTER TABLE is being prepared
  bool in_group_ = false;
  uint64_t group_ = 0;
  // Writes of the open group that finished (their savepoints released),
  // and whether a write runs now: an interrupt while one runs makes SQLite
  // roll back the whole group, not just the running write (see progress()).
  int group_writes_ = 0;
  bool writing_ = false;
  std::unordered_map<std::string, Cached> cache_;
  size_t cache_bytes_ = 0;
  uint64_t tick_ = 0;
  std::unique_ptr<Worker> worker_;  // joined first in ~Database
};

/// `name` as a quoted SQL identifier ("a""b"), or an error for names that
/// are empty, too long or contain NUL.
Error quote_ident(std::string_view name, std::string& out);

}  // namespace w::sql
