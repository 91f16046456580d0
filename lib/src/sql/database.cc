// Database: connection setup, the statement cache, the request limits and
// the group transaction (see database.h for the model). The authorizer is
// in authorizer.cc.
//
// SQLite layer: statements are store::Statement (prepare, bind, step,
// columns, reset, finalize all go through w/store.h), and a result code
// becomes a wire error in error_from() from store::sqlite_code(). What
// stays on SQLite's C API here is what store has no concept for, because
// only wsql needs it: sqlite3_open_v2 with wsql's own open errors (a
// symbolic link, a database that does not exist) and the connection's
// hardening (sqlite3_limit, sqlite3_db_config, sqlite3_drop_modules), the
// busy handler, authorizer and progress handler (callbacks into this
// object), sqlite3_load_extension of the CSV module, sqlite3_exec of the
// setup pragmas and maps and of the ROLLBACK when a Database closes
// mid-group, and sqlite3_get_autocommit. Open and setup keep their own
// Status codes (a file that cannot be opened for its WAL is kDenied, all
// else kIo): the engine turns them into not_found, denied or internal,
// and store::sqlite_status() would name some of those differently (a
// READONLY file denied, a missing -wal not found). The guarded user
// functions (functions.cc) use sqlite3_create_function_v2 and the
// sqlite3_value/sqlite3_result API a user function is written in; their
// delegate statements are store::Statements too. engine.cc sets the
// process-wide heap limits.
#include "database.h"

#include <cctype>
#include <cstring>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "w/sql.h"

namespace w::sql {
namespace {

constexpr int kProgressOps = 4000;  // VM steps between checks of the clock (~0.1 ms)
// Group numbers are unique in the process, so a reply can name its group
// without its database.
std::atomic<uint64_t> g_next_group{1};

}  // namespace

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Error quote_ident(std::string_view name, std::string& out) {
  if (name.empty() || name.size() > 128 || name.find('\0') != std::string_view::npos)
    return bad_request(fmt::format("bad name '{}' (1-128 characters)", name));
  out.clear();
  out += '"';
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return {};
}

Result<std::unique_ptr<Database>> Database::open(std::string name, const std::string& path,
                                                 bool create, const DatabaseOptions& options) {
  std::unique_ptr<Database> d(new Database());
  d->name_ = std::move(name);
  // NOFOLLOW: SQLite refuses a path with a symbolic link in any component,
  // and opens the WAL and SHM files with O_NOFOLLOW.
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW;
  if (create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &d->db_, flags, nullptr);
  if (rc == SQLITE_CANTOPEN_SYMLINK)
    return Status(Code::kDenied, fmt::format("database '{}' is reached through a symbolic link; "
                                             "wsql serves only regular files in its directory",
                                             d->name_));
  if (rc != SQLITE_OK) {
    std::string why = d->db_ ? sqlite3_errmsg(d->db_) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_CANTOPEN && !create)
      return Status::NotFound(fmt::format("database '{}' does not exist", d->name_));
    return Status::Io(fmt::format("open database '{}': {}", d->name_, why));
  }
  W_RETURN_IF_ERROR(d->setup(options).with_context(fmt::format("database '{}'", d->name_)));
  return d;
}

Status Database::setup(const DatabaseOptions& options) {
  // Hardening first: no attached files, no extension loading from SQL, no
  // writable schema, no double-quoted string literals, bounded sizes.
  sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, kMaxSqlBytes);
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, kMaxValueBytes);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  busy_ms_ = options.busy_ms;
  sqlite3_busy_handler(db_, &Database::busy_wait, this);
  // WAL lets other processes read while we write; synchronous=FULL makes
  // each group COMMIT durable before its writes are acknowledged. Pages are
  // read through a mapping of the file (up to 256 MiB of it), not a pread()
  // and a copy per page: point selects at one in flight ran 19% faster.
  // SQLite still writes with write(); its docs' caveat is that an I/O
  // error or another process truncating the file then ends the server with
  // SIGBUS instead of an error, which loses nothing committed.
  internal_ = true;
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
        "PRAGMA temp_store=MEMORY", "PRAGMA mmap_size=268435456"}) {
    char* err = nullptr;
    if (sqlite3_exec(db_, pragma, nullptr, nullptr, &err) != SQLITE_OK) {
      const int code = sqlite3_extended_errcode(db_);
      Status s(code == SQLITE_CANTOPEN_SYMLINK || (code & 0xff) == SQLITE_CANTOPEN ? Code::kDenied
                                                                                   : Code::kIo,
               fmt::format("{}: {}", pragma, err ? err : "failed"));
      sqlite3_free(err);
      return s;
    }
  }
  // Virtual-table modules are an allow-list too: FTS5 and R*Tree tables,
  // the JSON table-valued functions, and the CSV maps. The rest (dbstat,
  // sqlite_stmt with other clients' SQL, FTS3/4, fts5vocab) are removed.
  static const char* kModules[] = {"fts5", "rtree", "json_each", "json_tree", "csvtable", nullptr};
  if (!options.maps.empty()) {
    // The csvtable module is loaded through the C API with loading switched
    // on only for this call; SQL's load_extension() stays disabled.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr);
    char* err = nullptr;
    int rc = sqlite3_load_extension(db_, options.csv_module.c_str(), nullptr, &err);
    sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
    if (rc != SQLITE_OK) {
      Status s = Status::Io(fmt::format("load '{}': {} (install libsqlite3-mod-csvtable)",
                                        options.csv_module, err ? err : "failed"));
      sqlite3_free(err);
      return s;
    }
    for (const auto& [table, file] : options.maps) {
      std::string quoted, literal = "'";
      if (Error e = quote_ident(table, quoted); !e.ok()) return Status::Invalid(e.message);
      for (char c : file) literal += c == '\'' ? std::string("''") : std::string(1, c);
      literal += "'";
      // csvtable(file, header line, encoding, separator, quote); values are text.
      std::string create = fmt::format(
          R"(CREATE VIRTUAL TABLE temp.{} USING csvtable({}, 1, NULL, ',', '"'))", quoted, literal);
      if (sqlite3_exec(db_, create.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        Status s = Status::Invalid(fmt::format("map {}={}: {}", table, file, err ? err : "failed"));
        sqlite3_free(err);
        return s;
      }
    }
  }
  sqlite3_drop_modules(db_, kModules);
  auto functions = GuardedFunctions::install(db_);
  if (!functions.ok()) return functions.status();
  functions_ = std::move(*functions);
  internal_ = false;
  sqlite3_set_authorizer(db_, &Database::authorize, this);
  sqlite3_progress_handler(db_, kProgressOps, &Database::progress, this);
  return {};
}

Database::~Database() {
  worker_.reset();  // idle by contract; joins its thread before db_ goes
  if (in_group_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  cache_.clear();  // finalizes the statements
  sqlite3_close_v2(db_);
}

Worker& Database::worker() {
  if (!worker_) worker_ = std::make_unique<Worker>();
  return *worker_;
}

void Database::begin_request(const RequestLimits& limits) {
  limits_ = limits;
  yield_ = Yield::kNone;
  // Between requests no statement is in use: the cache can shrink freely.
  trim_cache(0);
}

void Database::end_request() {
  limits_ = RequestLimits{};
}

bool Database::past_deadline() const {
  return (limits_.cancel && limits_.cancel->load(std::memory_order_relaxed)) ||
         (limits_.deadline_ns != 0 && now_ns() > limits_.deadline_ns);
}

int Database::progress(void* self) {
  auto* d = static_cast<Database*>(self);
  if (d->internal_) return 0;  // BEGIN, SAVEPOINT, ROLLBACK TO run to the end
  if (d->past_deadline()) return 1;
  if (d->limits_.slice_ns != 0 && now_ns() > d->limits_.slice_ns) {
    // An interrupted write inside a transaction makes SQLite roll back the
    // whole transaction (sqlite3_interrupt(3)), not just this request's
    // savepoint: the group's earlier writes, other clients' among them,
    // would fail. A write that shares its group runs on past the slice
    // (its connection's next message goes to the worker: jobs.cc marks it
    // slow); its deadline still stops it.
    if (d->writing_ && d->group_writes_ > 0) return 0;
    d->yield_ = Yield::kSlice;
    return 1;
  }
  return 0;
}

// Another process holds the database locked. On the event loop: give up at
// once and run the request again on the worker, which may wait. There:
// wait up to busy_ms, never past the deadline.
int Database::busy_wait(void* self, int count) {
  auto* d = static_cast<Database*>(self);
  if (d->limits_.on_loop) {
    d->yield_ = Yield::kLock;
    return 0;
  }
  const int step_ms = count < 10 ? 1 : 10;
  const int waited_ms = count < 10 ? count : 10 + (count - 10) * 10;
  if (waited_ms >= d->busy_ms_ || d->past_deadline()) return 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
  return 1;
}

int Database::authorize(void* self, int action, const char* a1, const char* a2, const char* db,
                        const char*) {
  auto* d = static_cast<Database*>(self);
  return d->internal_ ? SQLITE_OK : d->decide(action, a1, a2, db);
}

// The wire taxonomy (wsql(1)) from the one code mapping, store::sqlite_code(),
// read in the request's context. Where the wire splits or merges store's
// kinds, the exception is named below; everything else is an SQL error
// classified by SQLite's message.
Error Database::error_from(int rc) {
  std::string message = sqlite3_errmsg(db_);
  if (yield_ != Yield::kNone) return {Err::kTimeout, "yielded to the worker thread"};
  switch (store::sqlite_code(rc)) {
    case Code::kInterrupted:
      if (limits_.cancel && limits_.cancel->load()) return {Err::kTimeout, "request cancelled"};
      return {Err::kTimeout, "statement ran past its time budget"};
    case Code::kTempFail:  // BUSY, LOCKED: another connection holds the lock
      return {Err::kBusy, message};
    case Code::kDenied:
      // Only the authorizer's refusal (AUTH) is a right the capability
      // lacks; READONLY and PERM stay SQL errors on the wire, as SQLite
      // words them (a read-only file is not the capability's doing).
      if ((rc & 0xff) == SQLITE_AUTH)
        return {Err::kDenied, message + " (the capability lacks the right)"};
      break;
    case Code::kInvalid:
      // store counts a value past SQLITE_LIMIT_LENGTH as bad data (kInvalid);
      // the wire names it too_big, so a client knows to send less.
      if ((rc & 0xff) == SQLITE_TOOBIG) return {Err::kTooBig, message};
      break;
    case Code::kIo:
      // Out of memory is store's kIo; for wsql it is the --max-memory cap
      // the request ran into: too_big, with the flag named.
      if ((rc & 0xff) == SQLITE_NOMEM)
        return {Err::kTooBig, "out of memory: SQLite's memory is capped by --max-memory"};
      break;
    default:
      break;
  }
  // The one SQL error a client branches on: the table is not there.
  if (message.rfind("no such table", 0) == 0) return {Err::kNotFound, message};
  // A function the authorizer refused comes back as a plain error.
  if (message.rfind("not authorized", 0) == 0) return {Err::kDenied, message};
  // The CSV maps are read-only by nature, before the authorizer asks.
  if (message.find("may not be modified") != std::string::npos) return {Err::kDenied, message};
  return {Err::kSql, message};
}

// Evicts least recently used statements past the byte and count budgets,
// sparing the `keep_recent` most recently handed out (callers may hold a
// few at once; none between requests).
void Database::trim_cache(uint64_t keep_recent) {
  while (cache_bytes_ > kCacheBytes || cache_.size() > kCacheCount) {
    auto victim = cache_.end();
    for (auto it = cache_.begin(); it != cache_.end(); ++it)
      if (it->second.used + keep_recent <= tick_ &&
          (victim == cache_.end() || it->second.used < victim->second.used))
        victim = it;
    if (victim == cache_.end()) return;
    cache_bytes_ -= victim->second.bytes;
    cache_.erase(victim);  // finalizes it
  }
}

Error Database::prepare(std::string_view sql, store::Statement** out, bool internal) {
  std::string key = fmt::format("{:x}{}|", internal ? 0xffff : limits_.rights, internal ? "i" : "");
  key += sql;
  if (auto it = cache_.find(key); it != cache_.end()) {
    it->second.stmt.reset();
    it->second.used = ++tick_;
    *out = &it->second.stmt;
    return {};
  }
  // Compiling client SQL can take seconds (a CTE that expands itself
  // exponentially is 500 bytes long) and no handler can stop it in SQLite
  // 3.40: on the event loop, leave it to the worker.
  if (!internal && limits_.on_loop) {
    yield_ = Yield::kCompile;
    return {Err::kTimeout, "yielded to the worker thread"};
  }
  internal_ = internal;
  creating_.clear(), dropping_.clear(), creating_table_ = altering_ = false;
  store::Statement stmt;  // finalized unless the cache keeps it
  std::string_view rest;
  const int rc = store::Statement::prepare_rc(db_, sql, SQLITE_PREPARE_PERSISTENT, stmt, &rest);
  internal_ = false;
  creating_.clear(), dropping_.clear(), creating_table_ = altering_ = false;
  if (rc != SQLITE_OK) return error_from(rc);
  if (!stmt) return bad_request("empty SQL statement");
  for (char ch : rest) {
    if (ch != ';' && !std::isspace(static_cast<unsigned char>(ch))) {
      return bad_request("one statement per request (found more after the first ';')");
    }
  }
  const auto bytes = static_cast<size_t>(stmt.memory_used());
  auto it = cache_.emplace(std::move(key), Cached{std::move(stmt), bytes, ++tick_}).first;
  cache_bytes_ += bytes;
  *out = &it->second.stmt;
  trim_cache(8);
  return {};
}

Error Database::exec_internal(std::string_view sql) {
  store::Statement* stmt = nullptr;
  if (Error e = prepare(sql, &stmt, true); !e.ok()) return e;
  // Our own statements (BEGIN, SAVEPOINT, COMMIT) are never interrupted,
  // so a group is never left half-committed; internal_ also lets a
  // re-prepare after a schema change pass the authorizer.
  internal_ = true;
  store::Step step;
  while ((step = stmt->step()) == store::Step::kRow) {
  }
  internal_ = false;
  const int rc = stmt->rc();
  stmt->reset();
  return step == store::Step::kDone ? Error{} : error_from(rc);
}

Error Database::begin_write() {
  if (in_group_ && sqlite3_get_autocommit(db_)) {
    // SQLite rolled the group back itself (out of memory, a full disk):
    // commit() reports it to everyone in it; nothing joins it now.
    return {Err::kInternal, "the open transaction was rolled back by SQLite; retry"};
  }
  if (!in_group_) {
    if (Error e = exec_internal("BEGIN IMMEDIATE"); !e.ok()) return e;
    in_group_ = true;
    group_ = g_next_group.fetch_add(1);
    group_writes_ = 0;
  }
  Error e = exec_internal("SAVEPOINT w");
  writing_ = e.ok();
  return e;
}

void Database::end_write(bool ok) {
  if (!ok) (void)exec_internal("ROLLBACK TO w");
  (void)exec_internal("RELEASE w");
  writing_ = false;
  if (ok) ++group_writes_;
}

Error Database::commit() {
  if (!in_group_) return {};
  in_group_ = false;
  group_writes_ = 0;
  if (sqlite3_get_autocommit(db_))
    return {Err::kSql, "the transaction was rolled back by SQLite (out of memory or I/O error)"};
  Error e = exec_internal("COMMIT");
  if (!e.ok()) (void)exec_internal("ROLLBACK");
  return e;
}

}  // namespace w::sql
