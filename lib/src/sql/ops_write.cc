// Operations that change a database: create, drop, insert, update, delete
// and merge. Each runs inside its own savepoint of the group transaction,
// so a failing request (a constraint, a timeout) leaves nothing behind.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "ops.h"
#include "value.h"

namespace w::sql {
namespace {

// Words a column type in `create` may use; with DEFAULT followed by a
// number or one of kDefaults. Anything else is refused, so a type string
// cannot smuggle SQL into CREATE TABLE.
constexpr std::string_view kTypeWords[] = {
    "INTEGER",       "INT",  "BIGINT",  "REAL",    "FLOAT",   "DOUBLE", "TEXT", "VARCHAR",
    "CHAR",          "BLOB", "NUMERIC", "DECIMAL", "BOOLEAN", "BOOL",   "DATE", "DATETIME",
    "TIMESTAMP",     "JSON", "ANY",     "PRIMARY", "KEY",     "NOT",    "NULL", "UNIQUE",
    "AUTOINCREMENT", "ASC",  "DESC",    "COLLATE", "NOCASE",  "BINARY", "RTRIM"};
constexpr std::string_view kDefaults[] = {
    "NULL", "TRUE", "FALSE", "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME"};

bool is_number(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool digits = false, dot = false;
  for (char ch : s) {
    if (std::isdigit(static_cast<unsigned char>(ch)))
      digits = true;
    else if (ch == '.' && !dot)
      dot = true;
    else
      return false;
  }
  return digits;
}

// "VARCHAR(20)" -> "VARCHAR" when the parentheses hold only digits/commas.
std::string_view strip_size(std::string_view word) {
  size_t open = word.find('(');
  if (open == std::string_view::npos || word.back() != ')') return word;
  for (char ch : word.substr(open + 1, word.size() - open - 2))
    if (!std::isdigit(static_cast<unsigned char>(ch)) && ch != ',') return word;
  return word.substr(0, open);
}

Error check_type(std::string_view type, std::string& out) {
  out.clear();
  bool after_default = false;
  size_t pos = 0;
  while (pos < type.size()) {
    size_t end = type.find_first_of(" \t", pos);
    std::string word(type.substr(pos, end - pos));
    pos = end == std::string_view::npos ? type.size() : end + 1;
    if (word.empty()) continue;
    for (char& ch : word) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto listed = [&](auto& list) {
      return std::find(std::begin(list), std::end(list), word) != std::end(list);
    };
    bool ok;
    if (after_default) {
      ok = is_number(word) || listed(kDefaults);
      after_default = false;
    } else if (word == "DEFAULT") {
      ok = after_default = true;
    } else {
      ok = std::find(std::begin(kTypeWords), std::end(kTypeWords), strip_size(word)) !=
           std::end(kTypeWords);
    }
    if (!ok) return bad_request(fmt::format("column type '{}': '{}' is not allowed", type, word));
    out += (out.empty() ? "" : " ") + word;
  }
  if (after_default)
    return bad_request(fmt::format("column type '{}': DEFAULT needs a value", type));
  return {};
}

// "table", "view", or "" when there is no such table.
Result<std::string> table_type(Database& db, const std::string& name) {
  store::Statement* stmt = nullptr;
  Error e = db.prepare(
      "SELECT type FROM sqlite_schema WHERE name = ? AND type IN ('table', 'view')", &stmt, true);
  if (!e.ok()) return Status::Internal(e.message);
  store::ResetOnExit reset(*stmt);
  // As a C string: a name with a NUL in it is looked up up to the NUL.
  stmt->bind_text(1, name.c_str());
  std::string type;
  if (stmt->step() == store::Step::kRow) type = stmt->column_text(0);
  return type;
}

Error columns_of(Database& db, const std::string& table, std::vector<std::string>& out) {
  store::Statement* stmt = nullptr;
  if (Error e = db.prepare("SELECT name FROM pragma_table_info(?)", &stmt, true); !e.ok()) return e;
  store::ResetOnExit reset(*stmt);
  stmt->bind_text(1, table.c_str());  // as a C string, up to a NUL
  out.clear();
  while (stmt->step() == store::Step::kRow) out.push_back(stmt->column_text(0));
  if (out.empty())
    return {Err::kNotFound, fmt::format("no table '{}' in database '{}'", table, db.name())};
  return {};
}

// Runs `body` inside a savepoint; the savepoint is rolled back if it fails.
template <class Fn>
Error in_savepoint(OpContext& c, Fn&& body) {
  if (Error e = c.db.begin_write(); !e.ok()) return e;
  Error e = body();
  c.db.end_write(e.ok());
  return e;
}

// Binds the request's params from `first_param` on, runs, reports changes.
Error run_prepared(OpContext& c, store::Statement& stmt, int first_param, bool report = true) {
  Error e = bind_params(stmt, first_param, c.r.params);
  if (e.ok()) e = step_done(c.db, stmt);
  stmt.reset();
  if (!e.ok()) return e;
  if (!report) return {};
  pack_changes(c);
  c.stats.rows_written += static_cast<uint64_t>(c.db.changes());
  return {};
}

Error run_write(OpContext& c, const std::string& sql, bool report = true) {
  store::Statement* stmt = nullptr;
  if (Error e = c.db.prepare(sql, &stmt); !e.ok()) return e;
  return run_prepared(c, *stmt, 1, report);
}

// The INSERT statement for one set of column names, `rows` rows at a time.
Error insert_statement(OpContext& c, const std::string& table,
                       const std::vector<std::string_view>& keys, size_t rows,
                       store::Statement** stmt) {
  const char* verb = c.r.conflict == "ignore"    ? "INSERT OR IGNORE"
                     : c.r.conflict == "replace" ? "INSERT OR REPLACE"
                                                 : "INSERT";
  if (keys.empty())
    return c.db.prepare(fmt::format("{} INTO {} DEFAULT VALUES", verb, table), stmt);
  std::string names, marks, q;
  for (std::string_view k : keys) {
    if (Error e = quote_ident(k, q); !e.ok()) return e;
    names += (names.empty() ? "" : ", ") + q;
    marks += marks.empty() ? "?" : ", ?";
  }
  std::string values;
  for (size_t r = 0; r < rows; ++r) values += fmt::format("{}({})", r == 0 ? "" : ", ", marks);
  return c.db.prepare(fmt::format("{} INTO {} ({}) VALUES {}", verb, table, names, values), stmt);
}

// Rows with the same columns go kRowsPerInsert at a time into one
// multi-row INSERT: SQLite's work per statement (step, reset, VDBE set-up)
// is most of a small row's cost (C API on this machine, 5 integers a row:
// 1.1-1.3 M rows/s one row per statement, 2.7 M ten rows per statement).
// A chunk that fails, on a value or a constraint, did nothing (a statement
// is atomic) and is run again one row at a time, so the error names its
// row as it always did; so are the rows that do not fill a chunk.
constexpr size_t kRowsPerInsert = 16;

// The decoded rows of one insert request, in chunks of equal columns.
class RowInserter {
 public:
  RowInserter(OpContext& c, const std::string& table) : c_(c), table_(table) {}

  // Row `index` (0-based) with these columns and values (views into the request).
  Error add(size_t index, const std::vector<std::string_view>& keys,
            const std::vector<std::string_view>& values) {
    if (keys != keys_) {
      if (Error e = flush(); !e.ok()) return e;
      keys_ = keys;
      single_ = multi_ = nullptr;
    }
    if (rows_ == 0) first_ = index;
    values_.insert(values_.end(), values.begin(), values.end());
    if (++rows_ == kRowsPerInsert) return flush();
    return {};
  }

  // Runs what is held.
  Error flush() {
    if (rows_ == 0) return {};
    bool done = false;
    Error e = rows_ == kRowsPerInsert && !keys_.empty() ? run_chunk(done) : Error{};
    if (e.ok() && !done) e = run_singly();
    rows_ = 0;
    values_.clear();
    return e;
  }

  int64_t changes() const { return changes_; }

 private:
  // The whole chunk in one statement: `done`, or not (to be redone row by
  // row, which names the failing row). A request that must move to the
  // worker thread (a statement not compiled yet, its time slice used up, a
  // lock) stops here, as at any statement.
  Error run_chunk(bool& done) {
    auto stopped = [&](Error e) {
      if (c_.db.yielded() == Database::Yield::kNone && !c_.db.past_deadline()) return Error{};
      e.message = fmt::format("row {}: {}", first_ + 1, e.message);
      return e;
    };
    if (!multi_) {
      if (Error e = insert_statement(c_, table_, keys_, kRowsPerInsert, &multi_); !e.ok()) {
        multi_ = nullptr;
        return stopped(e);
      }
    }
    for (size_t k = 0; k < values_.size(); ++k)
      if (!bind_value(*multi_, static_cast<int>(k) + 1, values_[k], why_)) {
        multi_->reset();
        return {};
      }
    const store::Step step = multi_->step();
    const int rc = multi_->rc();
    multi_->reset();
    if (step != store::Step::kDone) return stopped(c_.db.error_from(rc));
    changes_ += c_.db.changes();
    done = true;
    return {};
  }

  Error run_singly() {
    const size_t width = keys_.size();
    for (size_t r = 0; r < rows_; ++r) {
      const size_t row = first_ + r + 1;
      if (!single_) {
        if (Error e = insert_statement(c_, table_, keys_, 1, &single_); !e.ok()) {
          e.message = fmt::format("row {}: {}", row, e.message);
          return e;
        }
      }
      for (size_t k = 0; k < width; ++k)
        if (!bind_value(*single_, static_cast<int>(k) + 1, values_[r * width + k], why_)) {
          single_->reset();
          return bad_request(fmt::format("row {}, column '{}': {}", row, keys_[k], why_));
        }
      const store::Step step = single_->step();
      const int rc = single_->rc();
      single_->reset();
      if (step != store::Step::kDone) {
        Error e = c_.db.error_from(rc);
        e.message = fmt::format("row {}: {}", row, e.message);
        return e;
      }
      changes_ += c_.db.changes();
    }
    return {};
  }

  OpContext& c_;
  const std::string& table_;
  std::vector<std::string_view> keys_, values_;
  size_t rows_ = 0, first_ = 0;
  store::Statement *single_ = nullptr, *multi_ = nullptr;  // the cache's: valid for 8 prepares
  std::string why_;
  int64_t changes_ = 0;
};

Error insert_rows(OpContext& c, const std::string& table, int64_t& changes) {
  std::vector<std::string_view> keys, values;
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  const std::vector<std::string_view> fixed(c.r.columns.begin(), c.r.columns.end());
  RowInserter inserter(c, table);
  for (size_t i = 0; i < c.r.rows.size(); ++i) {
    std::string_view raw = c.r.rows[i];
    if (kind_of(raw) == Kind::kMap) {
      if (!decode_map(raw, entries)) {
        Error e = inserter.flush();  // the rows before it come first, as one by one
        return e.ok() ? bad_request(fmt::format("row {}: malformed map", i + 1)) : e;
      }
      keys.clear(), values.clear();
      for (auto [k, v] : entries) keys.push_back(k), values.push_back(v);
    } else {
      if (!mp::decode_array(raw, values) || values.size() != fixed.size()) {
        Error e = inserter.flush();
        return e.ok() ? bad_request(fmt::format(
                            "row {}: an array row needs one value per name in 'columns' ({})",
                            i + 1, fixed.size()))
                      : e;
      }
      keys = fixed;
    }
    if (Error e = inserter.add(i, keys, values); !e.ok()) return e;
  }
  Error e = inserter.flush();
  changes = inserter.changes();
  return e;
}

}  // namespace

Error op_create(OpContext& c) {
  const Request& r = c.r;
  std::string table, cols, q, type;
  if (Error e = quote_ident(r.table, table); !e.ok()) return e;
  auto type_now = table_type(c.db, r.table);
  if (!type_now.ok()) return {Err::kInternal, type_now.status().message()};
  if (!type_now->empty()) {
    if (r.if_not_exists) return c.body.key("created").boolean(false), Error{};
    return {Err::kExists, fmt::format("table '{}' already exists in '{}'", r.table, c.db.name())};
  }
  for (const auto& [name, t] : r.defs) {
    if (Error e = quote_ident(name, q); !e.ok()) return e;
    if (Error e = check_type(t, type); !e.ok()) return e;
    cols += fmt::format("{}{}{}{}", cols.empty() ? "" : ", ", q, type.empty() ? "" : " ", type);
  }
  if (!r.primary_key.empty()) {
    std::string keys;
    for (const std::string& name : r.primary_key) {
      if (Error e = quote_ident(name, q); !e.ok()) return e;
      keys += (keys.empty() ? "" : ", ") + q;
    }
    cols += ", PRIMARY KEY (" + keys + ")";
  }
  Error e = in_savepoint(
      c, [&] { return run_write(c, fmt::format("CREATE TABLE {} ({})", table, cols), false); });
  if (e.ok()) c.body.key("created").boolean(true);
  return e;
}

Error op_drop(OpContext& c) {
  std::string table;
  if (Error e = quote_ident(c.r.table, table); !e.ok()) return e;
  auto type = table_type(c.db, c.r.table);
  if (!type.ok()) return {Err::kInternal, type.status().message()};
  if (type->empty()) {
    if (c.r.if_exists) return c.body.key("dropped").boolean(false), Error{};
    return {Err::kNotFound, fmt::format("no table '{}' in database '{}'", c.r.table, c.db.name())};
  }
  Error e = in_savepoint(c, [&] {
    return run_write(c, (*type == "view" ? "DROP VIEW " : "DROP TABLE ") + table, false);
  });
  if (e.ok()) c.body.key("dropped").boolean(true);
  return e;
}

Error op_insert(OpContext& c) {
  std::string table;
  if (Error e = quote_ident(c.r.table, table); !e.ok()) return e;
  int64_t changes = 0;
  Error e = in_savepoint(c, [&] { return insert_rows(c, table, changes); });
  if (!e.ok()) return e;
  c.body.key("changes").integer(changes);
  c.body.key("last_id").integer(c.db.last_insert_rowid());
  c.stats.rows_written += static_cast<uint64_t>(changes);
  return {};
}

Error op_update(OpContext& c) {
  std::string table, sets, q;
  if (Error e = quote_ident(c.r.table, table); !e.ok()) return e;
  for (const auto& [name, value] : c.r.set) {
    if (Error e = quote_ident(name, q); !e.ok()) return e;
    sets += fmt::format("{}{} = ?", sets.empty() ? "" : ", ", q);
  }
  std::string sql = fmt::format("UPDATE {} SET {}{}", table, sets, where_clause(c.r));
  return in_savepoint(c, [&]() -> Error {
    store::Statement* stmt = nullptr;
    if (Error e = c.db.prepare(sql, &stmt); !e.ok()) return e;
    std::string why;
    for (size_t i = 0; i < c.r.set.size(); ++i) {
      if (!bind_value(*stmt, static_cast<int>(i) + 1, c.r.set[i].second, why))
        return bad_request(fmt::format("set '{}': {}", c.r.set[i].first, why));
    }
    return run_prepared(c, *stmt, static_cast<int>(c.r.set.size()) + 1);
  });
}

Error op_delete(OpContext& c) {
  std::string table;
  if (Error e = quote_ident(c.r.table, table); !e.ok()) return e;
  return in_savepoint(
      c, [&] { return run_write(c, fmt::format("DELETE FROM {}{}", table, where_clause(c.r))); });
}

Error op_merge(OpContext& c) {
  std::string dst, src, q;
  if (Error e = quote_ident(c.r.table, dst); !e.ok()) return e;
  if (Error e = quote_ident(c.r.from, src); !e.ok()) return e;
  std::vector<std::string> dst_cols, src_cols;
  if (Error e = columns_of(c.db, c.r.table, dst_cols); !e.ok()) return e;
  if (Error e = columns_of(c.db, c.r.from, src_cols); !e.ok()) return e;
  std::string cols;
  for (const std::string& name : dst_cols) {
    if (std::find(src_cols.begin(), src_cols.end(), name) == src_cols.end()) continue;
    (void)quote_ident(name, q);
    cols += (cols.empty() ? "" : ", ") + q;
  }
  if (cols.empty())
    return bad_request(fmt::format("tables '{}' and '{}' share no column", c.r.from, c.r.table));
  std::string sql =
      fmt::format("INSERT OR IGNORE INTO {} ({}) SELECT {} FROM {}", dst, cols, cols, src);
  return in_savepoint(c, [&] { return run_write(c, sql); });
}

}  // namespace w::sql
