// Database: connection setup, the authorizer, the statement cache and the
// group transaction (see database.h for the model).
#include "database.h"

#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "w/sql.h"

namespace w::sql {
namespace {

constexpr size_t kMaxCached = 256;
constexpr int kProgressOps = 4000;  // VM steps between deadline checks

// PRAGMAs a request may run. Those in kPragmaArg take a table or index
// name; the others must carry no value (a value would write).
constexpr const char* kPragmaArg[] = {"table_info", "table_xinfo", "index_list",
                                      "index_info", "index_xinfo", "foreign_key_list"};
constexpr const char* kPragmaRead[] = {"user_version", "schema_version",  "data_version",
                                       "page_count",   "page_size",       "freelist_count",
                                       "encoding",     "application_id",  "compile_options",
                                       "quick_check",  "integrity_check", "foreign_key_check"};

bool in_list(const char* name, std::span<const char* const> list) {
  for (const char* p : list)
    if (std::strcmp(p, name) == 0) return true;
  return false;
}

bool starts_with(const char* s, const char* prefix) {
  return s && std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

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
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &d->db_, flags, nullptr);
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
  sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, 1 << 20);
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, 256 << 20);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  sqlite3_busy_timeout(db_, options.busy_ms);
  // WAL lets other processes read while we write; synchronous=FULL makes
  // each group COMMIT durable before its writes are acknowledged.
  internal_ = true;
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
    char* err = nullptr;
    if (sqlite3_exec(db_, pragma, nullptr, nullptr, &err) != SQLITE_OK) {
      Status s = Status::Io(fmt::format("{}: {}", pragma, err ? err : "failed"));
      sqlite3_free(err);
      return s;
    }
  }
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
  internal_ = false;
  sqlite3_set_authorizer(db_, &Database::authorize, this);
  sqlite3_progress_handler(db_, kProgressOps, &Database::progress, this);
  return {};
}

Database::~Database() {
  if (in_group_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  for (auto& [key, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void Database::begin_request(uint32_t rights, double budget_s) {
  rights_ = rights;
  deadline_ns_ = budget_s > 0 ? now_ns() + static_cast<int64_t>(budget_s * 1e9) : 0;
  // Eviction happens here, between requests, so no caller holds a statement.
  if (cache_.size() > kMaxCached) {
    for (auto& [key, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
  }
}

int Database::progress(void* self) {
  auto* d = static_cast<Database*>(self);
  return d->deadline_ns_ != 0 && now_ns() > d->deadline_ns_;
}

int Database::authorize(void* self, int action, const char* a1, const char* a2, const char* db,
                        const char*) {
  auto* d = static_cast<Database*>(self);
  return d->internal_ ? SQLITE_OK : d->decide(action, a1, a2, db);
}

// The capability's rights, enforced per action while a statement is
// prepared. Anything not listed is denied.
int Database::decide(int action, const char* a1, const char* a2, const char* db) const {
  auto need = [&](uint32_t bits) { return (rights_ & bits) == bits ? SQLITE_OK : SQLITE_DENY; };
  const bool temp = db && std::strcmp(db, "temp") == 0;
  const bool system = starts_with(a1, "sqlite_");
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
      return need(kRead);
    case SQLITE_READ:
      // SQLite reads its schema table while creating and dropping tables.
      return system && rights_ != 0 ? SQLITE_OK : need(kRead);
    case SQLITE_FUNCTION:
      return a2 && (std::strcmp(a2, "load_extension") == 0 ||
                    std::strcmp(a2, "fts3_tokenizer") == 0)
                 ? SQLITE_DENY
                 : SQLITE_OK;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
      if (temp) return SQLITE_DENY;  // the CSV maps, shared by every client
      if (system) return std::strcmp(a1, "sqlite_sequence") == 0 ? need(kWrite) : need(kTable);
      return need(kWrite);
    case SQLITE_DELETE:
      if (temp) return SQLITE_DENY;
      if (system) return std::strcmp(a1, "sqlite_sequence") == 0 ? need(kWrite) : need(kTable);
      // DROP TABLE deletes the table's rows, so the table right covers it.
      return need(kWrite) == SQLITE_OK ? SQLITE_OK : need(kTable);
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_ALTER_TABLE:
    case SQLITE_REINDEX:
    case SQLITE_ANALYZE:
      return temp ? SQLITE_DENY : need(kTable);
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
      // Only modules that cannot reach outside the database file.
      if (temp || !a2 || (std::strcmp(a2, "fts5") != 0 && std::strcmp(a2, "rtree") != 0))
        return SQLITE_DENY;
      return need(kTable);
    case SQLITE_PRAGMA:
      if (!a1) return SQLITE_DENY;
      if (in_list(a1, kPragmaArg)) return need(kRead);
      return in_list(a1, kPragmaRead) && !a2 ? need(kRead) : SQLITE_DENY;
    default:
      // ATTACH, DETACH, transactions, savepoints, temp objects, COPY.
      return SQLITE_DENY;
  }
}

Error Database::error_from(int rc) {
  std::string message = sqlite3_errmsg(db_);
  switch (rc & 0xff) {
    case SQLITE_INTERRUPT:
      return {Err::kTimeout, "statement ran past its time budget"};
    case SQLITE_AUTH:
      return {Err::kDenied, message + " (the capability lacks the right)"};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return {Err::kBusy, message};
    case SQLITE_TOOBIG:
      return {Err::kTooBig, message};
    default:
      // The one SQL error a client branches on: the table is not there.
      if (message.rfind("no such table", 0) == 0) return {Err::kNotFound, message};
      // A function the authorizer refused comes back as a plain error.
      if (message.rfind("not authorized", 0) == 0) return {Err::kDenied, message};
      // The CSV maps are read-only by nature, before the authorizer asks.
      if (message.find("may not be modified") != std::string::npos) return {Err::kDenied, message};
      return {Err::kSql, message};
  }
}

Error Database::prepare(std::string_view sql, sqlite3_stmt** out, bool internal) {
  std::string key = fmt::format("{:x}{}|", internal ? 0xffff : rights_, internal ? "i" : "");
  key += sql;
  if (auto it = cache_.find(key); it != cache_.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    *out = it->second;
    return {};
  }
  internal_ = internal;
  const char* tail = nullptr;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  internal_ = false;
  if (rc != SQLITE_OK) return error_from(rc);
  if (!stmt) return bad_request("empty SQL statement");
  for (const char* p = tail; p && p < sql.data() + sql.size(); ++p) {
    if (*p != ';' && !std::isspace(static_cast<unsigned char>(*p))) {
      sqlite3_finalize(stmt);
      return bad_request("one statement per request (found more after the first ';')");
    }
  }
  cache_.emplace(std::move(key), stmt);
  *out = stmt;
  return {};
}

Error Database::exec_internal(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (Error e = prepare(sql, &stmt, true); !e.ok()) return e;
  // Our own statements (BEGIN, SAVEPOINT, COMMIT) run without a deadline
  // so a group is never left half-committed.
  int64_t saved = deadline_ns_;
  deadline_ns_ = 0;
  internal_ = true;  // a re-prepare after a schema change must pass too
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  internal_ = false;
  deadline_ns_ = saved;
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? Error{} : error_from(rc);
}

Error Database::begin_write() {
  if (!in_group_) {
    if (Error e = exec_internal("BEGIN IMMEDIATE"); !e.ok()) return e;
    in_group_ = true;
  }
  return exec_internal("SAVEPOINT w");
}

void Database::end_write(bool ok) {
  if (!ok) (void)exec_internal("ROLLBACK TO w");
  (void)exec_internal("RELEASE w");
}

Error Database::commit() {
  if (!in_group_) return {};
  Error e = exec_internal("COMMIT");
  if (!e.ok()) (void)exec_internal("ROLLBACK");
  in_group_ = false;
  return e;
}

}  // namespace w::sql
