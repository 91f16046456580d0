// One served SQLite database: its connection, the authorizer that enforces
// a capability's rights inside SQLite, a statement cache, a time budget per
// request, and the open group-commit transaction.
//
// Threading: used only on the server's event-loop thread.
//
// Rights enforcement: before a request, begin_request() sets the rights the
// authorizer applies while statements are prepared (SQLite asks it at
// prepare time, and again if a statement is re-prepared after a schema
// change). Cached statements are keyed by rights and text, so a statement
// prepared under one capability is never reused under another.
//
// Group commit: writes run inside one long transaction (BEGIN IMMEDIATE on
// the first write), each request in its own savepoint so a failing request
// rolls back alone; commit() ends the group. Callers answer a write only
// after the commit holding it returned, so an acknowledged write is on disk
// (WAL with synchronous=FULL).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "request.h"
#include "w/status.h"

namespace w::sql {

/// Monotonic clock in nanoseconds.
int64_t now_ns();

struct DatabaseOptions {
  int busy_ms = 2000;  ///< how long a statement waits for another process's lock
  std::vector<std::pair<std::string, std::string>> maps;  ///< CSV tables: name, file
  std::string csv_module;  ///< path of the csvtable extension (needed with maps)
};

class Database {
 public:
  /// Opens `path` (":memory:" for an in-memory database). Without `create`
  /// a missing file is Code::kNotFound.
  static Result<std::unique_ptr<Database>> open(std::string name, const std::string& path,
                                                bool create, const DatabaseOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& name() const { return name_; }
  sqlite3* handle() { return db_; }

  /// Starts a request: the authorizer allows `rights`, statements stop with
  /// Err::kTimeout after `budget_s` seconds (0: no limit).
  void begin_request(uint32_t rights, double budget_s);

  /// True once the current request has used up its time budget.
  bool past_deadline() const { return deadline_ns_ != 0 && now_ns() > deadline_ns_; }

  /// A ready statement for `sql` (cached, reset, bindings cleared). With
  /// `internal` the authorizer lets everything through: only for SQL the
  /// server wrote itself with quoted names. One statement only.
  Error prepare(std::string_view sql, sqlite3_stmt** out, bool internal = false);

  /// Runs SQL the server wrote itself (no results).
  Error exec_internal(std::string_view sql);

  /// Opens the group transaction if needed, then a savepoint for one request.
  Error begin_write();
  /// Releases the request's savepoint, or rolls back to it if !ok.
  void end_write(bool ok);
  bool in_group() const { return in_group_; }
  /// Writes the group to disk; on failure rolls it back and says why.
  Error commit();

  /// Turns a SQLite result code (and the connection's message) into an Error.
  Error error_from(int rc);

 private:
  Database() = default;
  static int authorize(void* self, int action, const char* a1, const char* a2, const char* db,
                       const char* trigger);
  static int progress(void* self);
  int decide(int action, const char* a1, const char* a2, const char* db) const;
  Status setup(const DatabaseOptions& options);

  std::string name_;
  sqlite3* db_ = nullptr;
  uint32_t rights_ = 0;
  bool internal_ = false;    // set while the server's own statements are prepared
  int64_t deadline_ns_ = 0;  // monotonic; 0 = none
  bool in_group_ = false;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

/// `name` as a quoted SQL identifier ("a""b"), or an error for names that
/// are empty, too long or contain NUL.
Error quote_ident(std::string_view name, std::string& out);

}  // namespace w::sql
