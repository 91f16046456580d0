// The authorizer: a capability's rights, enforced by SQLite for every
// action of every statement while it is prepared. Anything not allowed
// here is denied, whatever the rights: an allow-list of actions, of
// functions (functions.cc), of PRAGMAs, of system tables and (in
// Database::setup) of virtual-table modules.
//
// Rights exactly as named (wsql(1), CAPABILITIES):
//   read   SELECT and reading tables;
//   write  INSERT, UPDATE, DELETE of rows;
//   table  CREATE/DROP/ALTER of tables, indexes and views. It writes no
//          rows: CREATE TABLE ... AS SELECT needs write too, a DELETE
//          passes only as part of the DROP TABLE being prepared, and a
//          cascade a DROP would set off needs write;
//   triggers need read, write and table: a trigger runs under the rights
//          of whoever fires it, so its creator must hold all it can do.
// Some of these need to know what statement an action belongs to; SQLite
// asks in statement order (for CREATE TABLE: CREATE_TABLE, then the
// SELECT of AS SELECT; for DROP TABLE: DROP_TABLE, then DELETE of that
// table; for ALTER TABLE: ALTER_TABLE, then SQLite's own SELECTs and
// schema updates), and Database::prepare() clears that memory around each
// prepare.
#include <cstring>
#include <span>

#include "database.h"
#include "functions.h"
#include "w/sql.h"

namespace w::sql {
namespace {

// PRAGMAs a request may run. Those in kPragmaArg take a table or index
// name; the others must carry no value (a value would write).
constexpr const char* kPragmaArg[] = {"table_info", "table_xinfo", "index_list",
                                      "index_info", "index_xinfo", "foreign_key_list"};
constexpr const char* kPragmaRead[] = {
    "user_version",    "schema_version",    "data_version",   "page_count",      "page_size",
    "freelist_count",  "encoding",          "application_id", "compile_options", "quick_check",
    "integrity_check", "foreign_key_check", "function_list"};

// Functions SQLite calls itself while it runs ALTER TABLE. A statement
// cannot name them (they are internal: "no such function"), so letting
// the authorizer pass them opens nothing.
constexpr const char* kAlterFunctions[] = {"sqlite_rename_column", "sqlite_rename_table",
                                           "sqlite_rename_test", "sqlite_rename_quotefix",
                                           "sqlite_drop_column"};

bool in_list(const char* name, std::span<const char* const> list) {
  if (!name) return false;
  for (const char* p : list)
    if (std::strcmp(p, name) == 0) return true;
  return false;
}

bool starts_with(const char* s, const char* prefix) {
  return s && std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

bool same(const char* a, const std::string& b) {
  return a && !b.empty() && b == a;
}

// The schema table: SQLite reads it for every statement's names, and
// writes it for DDL (gated by the CREATE/DROP/ALTER actions). Statements
// cannot write it themselves: SQLITE_DBCONFIG_DEFENSIVE makes it
// read-only, and writable_schema is not an allowed PRAGMA.
bool schema_table(const char* name) {
  return name &&
         (std::strcmp(name, "sqlite_master") == 0 || std::strcmp(name, "sqlite_schema") == 0 ||
          std::strcmp(name, "sqlite_temp_master") == 0 ||
          std::strcmp(name, "sqlite_temp_schema") == 0);
}

}  // namespace

int Database::decide(int action, const char* a1, const char* a2, const char* db) {
  const uint32_t rights = limits_.rights;
  auto need = [rights](uint32_t bits) { return (rights & bits) == bits ? SQLITE_OK : SQLITE_DENY; };
  const bool temp = db && std::strcmp(db, "temp") == 0;
  const bool sequence = a1 && std::strcmp(a1, "sqlite_sequence") == 0;
  const bool stats = starts_with(a1, "sqlite_stat");
  switch (action) {
    case SQLITE_SELECT:
      // ALTER TABLE runs SELECTs of its own over the schema.
      if (altering_) return SQLITE_OK;
      // A SELECT inside CREATE TABLE is AS SELECT: it writes the rows it reads.
      return creating_table_ ? need(kRead | kWrite) : need(kRead);
    case SQLITE_RECURSIVE:
      return need(kRead);
    case SQLITE_READ:
      // SQLite reads these while it prepares DDL and AUTOINCREMENT inserts.
      if (schema_table(a1) || sequence || stats) return rights != 0 ? SQLITE_OK : SQLITE_DENY;
      // CHECK constraints, generated columns and indexes read the columns
      // of the table being created: part of the schema, not its rows.
      if (same(a1, creating_)) return need(kTable) == SQLITE_OK ? SQLITE_OK : need(kRead);
      if (starts_with(a1, "sqlite_")) return SQLITE_DENY;  // dbstat-like internals
      return need(kRead);
    case SQLITE_FUNCTION:
      return function_allowed(a2) || in_list(a2, kAlterFunctions) ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
      // ALTER TABLE rewrites the SQL of every schema entry, temp's too.
      if (altering_ && schema_table(a1)) return SQLITE_OK;
      if (temp) return SQLITE_DENY;  // the CSV maps, shared by every client
      if (schema_table(a1)) return SQLITE_OK;
      if (sequence) return need(kWrite);
      if (starts_with(a1, "sqlite_")) return need(kTable);  // ANALYZE's statistics
      return need(kWrite);
    case SQLITE_DELETE:
      if (temp) return SQLITE_DENY;
      if (schema_table(a1)) return SQLITE_OK;
      // DROP TABLE deletes its own rows (and its AUTOINCREMENT counter):
      // that is the table right. Any other DELETE is a row write.
      if (!dropping_.empty() && (same(a1, dropping_) || sequence)) {
        return need(kTable) == SQLITE_OK ? SQLITE_OK : need(kWrite);
      }
      if (stats) return need(kTable);
      if (starts_with(a1, "sqlite_")) return SQLITE_DENY;
      return need(kWrite);
    case SQLITE_CREATE_TABLE:
      if (temp) return SQLITE_DENY;
      creating_ = a1 ? a1 : "";
      creating_table_ = true;
      return need(kTable);
    case SQLITE_CREATE_INDEX:
      if (temp) return SQLITE_DENY;
      creating_ = a2 ? a2 : "";  // the indexed table
      return need(kTable);
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_VIEW: {
      if (temp) return SQLITE_DENY;
      const int verdict = need(kTable);
      if (verdict == SQLITE_OK) dropping_ = a1 ? a1 : "";
      return verdict;
    }
    case SQLITE_CREATE_TRIGGER:
      return temp ? SQLITE_DENY : need(kRead | kWrite | kTable);
    case SQLITE_ALTER_TABLE: {
      // a1 is the database here, a2 the table.
      if (a1 && std::strcmp(a1, "temp") == 0) return SQLITE_DENY;
      const int verdict = need(kTable);
      altering_ = verdict == SQLITE_OK;
      return verdict;
    }
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_REINDEX:
    case SQLITE_ANALYZE:
      return temp ? SQLITE_DENY : need(kTable);
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE: {
      // Only modules that cannot reach outside the database file.
      if (temp || !a2 || (std::strcmp(a2, "fts5") != 0 && std::strcmp(a2, "rtree") != 0))
        return SQLITE_DENY;
      const int verdict = need(kTable);
      if (verdict == SQLITE_OK && action == SQLITE_DROP_VTABLE) dropping_ = a1 ? a1 : "";
      return verdict;
    }
    case SQLITE_PRAGMA:
      if (!a1) return SQLITE_DENY;
      if (in_list(a1, kPragmaArg)) return need(kRead);
      return in_list(a1, kPragmaRead) && !a2 ? need(kRead) : SQLITE_DENY;
    default:
      // ATTACH, DETACH, transactions, savepoints, temp objects, COPY.
      return SQLITE_DENY;
  }
}

}  // namespace w::sql
