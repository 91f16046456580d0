#include "w/store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include <utility>

namespace w::store {

Code sqlite_code(int rc) {
  // Extended codes first: the few whose meaning differs from their family.
  if (rc == SQLITE_CANTOPEN_SYMLINK) return Code::kDenied;
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Code::kOk;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Code::kTempFail;
    case SQLITE_INTERRUPT:
      return Code::kInterrupted;
    case SQLITE_AUTH:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return Code::kDenied;
    case SQLITE_TOOBIG:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Code::kInvalid;
    default:
      return Code::kIo;
  }
}

Status sqlite_status(int rc, sqlite3* db, std::string_view what) {
  Code code = sqlite_code(rc);
  if (code == Code::kOk) return {};
  // A file SQLite could not open: the system's errno says whether it is
  // missing or forbidden (SQLITE_CANTOPEN says neither).
  if (code == Code::kIo && (rc & 0xff) == SQLITE_CANTOPEN && db) {
    const int err = sqlite3_system_errno(db);
    if (err == ENOENT) code = Code::kNotFound;
    if (err == EACCES || err == EPERM) code = Code::kDenied;
  }
  // The connection's message is about its last failure, which is `rc` only
  // if nothing ran since; a bind error (SQLITE_RANGE) sets none. Compared
  // by family: without extended codes a step returns the primary one.
  const bool own = db && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff);
  const char* why = own ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return {code, fmt::format("{}: {}", what, why)};
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(st_);
    st_ = std::exchange(o.st_, nullptr);
    rc_ = o.rc_;
    bind_rc_ = o.bind_rc_;
  }
  return *this;
}

int Statement::prepare_rc(sqlite3* db, std::string_view sql, unsigned flags, Statement& out,
                          std::string_view* rest) {
  sqlite3_stmt* st = nullptr;
  const char* tail = nullptr;
  const int rc =
      sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &st, &tail);
  out = Statement(st);  // null on failure (SQLite then sets no statement)
  if (rest) {
    // SQLite points `tail` just past the first statement (or at the end).
    const size_t used = tail ? static_cast<size_t>(tail - sql.data()) : sql.size();
    *rest = sql.substr(std::min(used, sql.size()));
  }
  return rc;
}

Result<Statement> Statement::prepare(sqlite3* db, std::string_view sql, unsigned flags) {
  Statement st;
  const int rc = prepare_rc(db, sql, flags, st);
  if (rc != SQLITE_OK) return sqlite_status(rc, db, "prepare");
  if (!st) return Status::Invalid("prepare: no SQL statement in the text");
  return st;
}

sqlite3_stmt* Statement::release() {
  return std::exchange(st_, nullptr);
}

Status Statement::run(std::string_view what) {
  switch (step()) {
    case Step::kDone:
      return {};
    case Step::kRow:
      return Status::Internal(fmt::format("{}: the statement returned a row", what));
    case Step::kError:
      break;
  }
  return status(what);
}

Status Statement::status(std::string_view what) const {
  return sqlite_status(rc_, st_ ? sqlite3_db_handle(st_) : nullptr, what);
}

Database::~Database() {
  close();
}

void Database::close() {
  cache_.clear();  // statements first: sqlite3_close refuses while any is open
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

Database::Database(Database&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), cache_(std::move(o.cache_)) {}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    close();
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
    cache_ = std::move(o.cache_);
  }
  return *this;
}

Result<Database> Database::open(const std::string& path, int flags) {
  Database d;
  d.path_ = path;
  const int rc = sqlite3_open_v2(path.c_str(), &d.db_, flags | SQLITE_OPEN_EXRESCODE, nullptr);
  // On failure SQLite still returns a handle (unless out of memory) that
  // holds the message and must be closed: d's destructor does.
  if (rc != SQLITE_OK) return sqlite_status(rc, d.db_, fmt::format("open '{}'", path));
  return d;
}

Status Database::exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  Status s(sqlite_code(rc), fmt::format("sqlite '{}': {}", path_, err ? err : sqlite3_errstr(rc)));
  sqlite3_free(err);
  return s;
}

Status Database::wal() {
  auto st = prepare("PRAGMA journal_mode=WAL");
  if (!st.ok()) return st.status();
  if (st->step() != Step::kRow) return st->status(fmt::format("set WAL in '{}'", path_));
  if (st->column_text_view(0) != "wal")
    return Status::Io(
        fmt::format("'{}' stays in journal mode '{}', not WAL", path_, st->column_text_view(0)));
  return {};
}

Result<Statement> Database::prepare(std::string_view sql, unsigned flags) const {
  auto st = Statement::prepare(db_, sql, flags);
  if (!st.ok()) return st.status().with_context(fmt::format("'{}'", path_));
  return st;
}

Result<Statement*> Database::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return &it->second;
  auto st = prepare(sql, SQLITE_PREPARE_PERSISTENT);
  if (!st.ok()) return st.status();
  return &cache_.emplace(sql, std::move(*st)).first->second;
}

Status Database::error(std::string_view what) const {
  return sqlite_status(sqlite3_extended_errcode(db_), db_, fmt::format("{} in '{}'", what, path_));
}

Result<Transaction> Transaction::begin(Database& db, Mode mode) {
  static constexpr const char* kBegin[] = {"BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"};
  W_RETURN_IF_ERROR(db.exec(kBegin[static_cast<int>(mode)]));
  return Transaction(&db);
}

Transaction::~Transaction() {
  (void)rollback();
}

Transaction& Transaction::operator=(Transaction&& o) noexcept {
  if (this != &o) {
    (void)rollback();
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}

Status Transaction::commit() {
  if (!db_) return Status::Internal("commit: no transaction is open");
  Status s = db_->exec("COMMIT");
  if (!s.ok()) {
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY): end it,
    // so the connection is usable and nothing half-written stays pending.
    if (!sqlite3_get_autocommit(db_->get())) (void)db_->exec("ROLLBACK");
  }
  db_ = nullptr;
  return s;
}

Status Transaction::rollback() {
  if (!db_) return {};
  Database* db = std::exchange(db_, nullptr);
  // SQLite may have rolled back already (some errors end the transaction).
  if (sqlite3_get_autocommit(db->get())) return {};
  return db->exec("ROLLBACK");
}

}  // namespace w::store
