// Operations that read (tables, schema, select, count) and the raw sql
// operation, with the helpers every operation shares.
//
// Client SQL fragments (where, order, a column list) are pasted into SQL by
// contract; what keeps them harmless is that values are always bound, one
// statement is allowed, and the authorizer checks every table and column
// they touch against the capability. Each fragment is closed with a newline
// so a trailing "--" comment cannot swallow the rest of our statement.
#include "ops.h"

#include <algorithm>

#include <fmt/format.h>

#include "value.h"

namespace w::sql {
namespace {

constexpr char kListTables[] =
    "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') "
    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
    "UNION ALL SELECT name, 'csv' FROM sqlite_temp_schema WHERE type = 'table' ORDER BY name";

// A text column up to its first NUL, as the C string SQLite gives (names
// and SQL from the schema).
std::string text_column(const store::Statement& s, int col) {
  std::string_view v = s.column_text_view(col);
  return std::string(v.substr(0, v.find('\0')));
}

// Packs one table's schema entry: {table, type, sql, columns: [...]}.
Error pack_table_schema(OpContext& c, const std::string& name, const std::string& type) {
  store::Statement* sql_stmt = nullptr;
  if (Error e = c.db.prepare("SELECT sql FROM sqlite_schema WHERE name = ? "
                             "UNION ALL SELECT sql FROM sqlite_temp_schema WHERE name = ?",
                             &sql_stmt, true);
      !e.ok())
    return e;
  store::ResetOnExit reset_sql(*sql_stmt);
  sql_stmt->bind_text(1, name);
  sql_stmt->bind_text(2, name);
  std::string create = sql_stmt->step() == store::Step::kRow ? text_column(*sql_stmt, 0) : "";
  store::Statement* cols = nullptr;
  if (Error e = c.db.prepare(
          "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", &cols, true);
      !e.ok())
    return e;
  store::ResetOnExit reset_cols(*cols);
  cols->bind_text(1, name);
  std::string items;
  mp::Packer ipk(items);
  uint32_t n = 0;
  store::Step step;
  while ((step = cols->step()) == store::Step::kRow) {
    ++n;
    ipk.map(5);
    ipk.str("name"), ipk.str(text_column(*cols, 0));
    ipk.str("type"), ipk.str(text_column(*cols, 1));
    ipk.str("notnull"), ipk.boolean(cols->column_int(2) != 0);
    ipk.str("default"), pack_column(ipk, *cols, 3);
    ipk.str("pk"), ipk.integer(cols->column_int(4));
  }
  if (step != store::Step::kDone) return c.db.error_from(*cols);
  mp::Packer& pk = c.body.pk;
  pk.map(4);
  pk.str("table"), pk.str(name);
  pk.str("type"), pk.str(type);
  pk.str("sql"), pk.str(create);
  pk.str("columns"), pk.array(n), pk.raw(items);
  return {};
}

// Array headers whose count is known only after the rows: a 32-bit header
// written now and filled in later.
size_t open_array(std::string& buf) {
  buf += '\xdd';
  buf.append(4, '\0');
  return buf.size() - 4;
}

void close_array(std::string& buf, size_t at, uint32_t n) {
  for (int i = 0; i < 4; ++i) buf[at + i] = static_cast<char>(n >> (24 - 8 * i));
}

}  // namespace

Error step_done(Database& db, store::Statement& stmt) {
  store::Step step;
  while ((step = stmt.step()) == store::Step::kRow) {
  }
  return step == store::Step::kDone ? Error{} : db.error_from(stmt);
}

namespace {

// Bytes column `col` of the current row will take, known before it is
// converted or materialized (msgpack header included, generously).
size_t value_bytes(const store::Statement& stmt, int col) {
  const int type = stmt.column_type(col);
  if (type != SQLITE_TEXT && type != SQLITE_BLOB) return 9;
  return static_cast<size_t>(stmt.column_bytes(col)) + 5;
}

}  // namespace

Error pack_rows(OpContext& c, store::Statement& stmt) {
  const int ncol = stmt.column_count();
  mp::Packer& pk = c.body.key("columns");
  pk.array(static_cast<uint32_t>(ncol));
  for (int i = 0; i < ncol; ++i) pk.str(stmt.column_name(i));
  c.body.key("rows");
  size_t at = open_array(c.body.buf);
  const size_t room = std::min(c.room, c.config.max_result);
  uint32_t n = 0;
  store::Step step;
  while ((step = stmt.step()) == store::Step::kRow) {
    pk.array(static_cast<uint32_t>(ncol));
    for (int i = 0; i < ncol; ++i) {
      if (c.body.buf.size() + value_bytes(stmt, i) > room)
        return {Err::kTooBig,
                fmt::format("the result passed {} bytes (--max-result, for the whole answer) "
                            "after {} rows; page it with limit and offset",
                            c.config.max_result, n)};
      pack_column(pk, stmt, i);
    }
    ++n;
  }
  if (step != store::Step::kDone) return c.db.error_from(stmt);
  close_array(c.body.buf, at, n);
  c.stats.rows_read += n;
  return {};
}

void pack_changes(OpContext& c) {
  c.body.key("changes").integer(c.db.changes());
  c.body.key("last_id").integer(c.db.last_insert_rowid());
}

Error bind_params(store::Statement& stmt, int first, const std::vector<std::string_view>& params,
                  int extra) {
  const int have = stmt.bind_parameter_count();
  const int want = first - 1 + static_cast<int>(params.size()) + extra;
  if (have != want)
    return bad_request(fmt::format("the statement has {} placeholders but {} params were given",
                                   have - (first - 1) - extra, params.size()));
  std::string why;
  for (size_t i = 0; i < params.size(); ++i) {
    const int index = first + static_cast<int>(i);
    if (stmt.bind_parameter_name(index) != nullptr)
      return bad_request("use plain ? placeholders (not ?NNN, :name, @name or $name)");
    if (!bind_value(stmt, index, params[i], why))
      return bad_request(fmt::format("param {}: {}", i + 1, why));
  }
  return {};
}

// " WHERE (...)" for a client's where text, or "".
std::string where_clause(const Request& r) {
  return r.where.empty() ? std::string() : " WHERE (" + r.where + "\n)";
}

Error op_tables(OpContext& c) {
  store::Statement* stmt = nullptr;
  if (Error e = c.db.prepare(kListTables, &stmt, true); !e.ok()) return e;
  store::ResetOnExit reset(*stmt);
  c.body.key("tables");
  size_t at = open_array(c.body.buf);
  uint32_t n = 0;
  store::Step step;
  while ((step = stmt->step()) == store::Step::kRow) {
    c.body.pk.map(2);
    c.body.pk.str("name"), c.body.pk.str(text_column(*stmt, 0));
    c.body.pk.str("type"), c.body.pk.str(text_column(*stmt, 1));
    ++n;
  }
  if (step != store::Step::kDone) return c.db.error_from(*stmt);
  close_array(c.body.buf, at, n);
  return {};
}

Error op_schema(OpContext& c) {
  store::Statement* stmt = nullptr;
  if (Error e = c.db.prepare(kListTables, &stmt, true); !e.ok()) return e;
  std::vector<std::pair<std::string, std::string>> tables;
  store::Step step;
  while ((step = stmt->step()) == store::Step::kRow) {
    std::string name = text_column(*stmt, 0);
    if (c.r.table.empty() || name == c.r.table) tables.emplace_back(name, text_column(*stmt, 1));
  }
  const int rc = stmt->rc();
  stmt->reset();
  if (step != store::Step::kDone) return c.db.error_from(rc);
  if (!c.r.table.empty() && tables.empty())
    return {Err::kNotFound, fmt::format("no table '{}' in database '{}'", c.r.table, c.db.name())};
  c.body.key("schema").array(static_cast<uint32_t>(tables.size()));
  for (const auto& [name, type] : tables)
    if (Error e = pack_table_schema(c, name, type); !e.ok()) return e;
  return {};
}

// The select list: names quoted, or the client's SQL string, or "*".
Error select_list(const Request& r, std::string& out) {
  out.clear();
  if (!r.columns_sql.empty()) return out.append(r.columns_sql).push_back('\n'), Error{};
  if (r.columns.empty()) return out.push_back('*'), Error{};
  std::string q;
  for (const std::string& name : r.columns) {
    if (Error e = quote_ident(name, q); !e.ok()) return e;
    if (!out.empty()) out += ", ";
    out += q;
  }
  return {};
}

Error op_select(OpContext& c) {
  const Request& r = c.r;
  std::string table, columns;
  if (Error e = quote_ident(r.table, table); !e.ok()) return e;
  if (Error e = select_list(r, columns); !e.ok()) return e;
  std::string sql =
      fmt::format("SELECT {} FROM {}{}{} LIMIT ? OFFSET ?", columns, table, where_clause(r),
                  r.order.empty() ? "" : " ORDER BY " + r.order + "\n");
  store::Statement* stmt = nullptr;
  if (Error e = c.db.prepare(sql, &stmt); !e.ok()) return e;
  store::ResetOnExit reset(*stmt);
  if (Error e = bind_params(*stmt, 1, r.params, 2); !e.ok()) return e;
  const int n = stmt->bind_parameter_count();
  stmt->bind_int64(n - 1, r.limit);
  stmt->bind_int64(n, r.offset);
  return pack_rows(c, *stmt);
}

Error op_count(OpContext& c) {
  std::string table;
  if (Error e = quote_ident(c.r.table, table); !e.ok()) return e;
  store::Statement* stmt = nullptr;
  if (Error e =
          c.db.prepare(fmt::format("SELECT count(*) FROM {}{}", table, where_clause(c.r)), &stmt);
      !e.ok())
    return e;
  store::ResetOnExit reset(*stmt);
  if (Error e = bind_params(*stmt, 1, c.r.params); !e.ok()) return e;
  if (stmt->step() != store::Step::kRow) return c.db.error_from(*stmt);
  c.body.key("count").integer(stmt->column_int64(0));
  return {};
}

Error op_sql(OpContext& c) {
  store::Statement* stmt = nullptr;
  if (Error e = c.db.prepare(c.r.sql, &stmt); !e.ok()) return e;
  store::ResetOnExit reset(*stmt);
  if (Error e = bind_params(*stmt, 1, c.r.params); !e.ok()) return e;
  const bool writes = !stmt->readonly();
  if (writes) {
    if (Error e = c.db.begin_write(); !e.ok()) return e;
  }
  Error e;
  if (stmt->column_count() > 0) {
    e = pack_rows(c, *stmt);
  } else {
    e = step_done(c.db, *stmt);
    if (e.ok()) pack_changes(c);
  }
  if (writes) {
    stmt->reset();
    c.db.end_write(e.ok());
    if (e.ok()) c.stats.rows_written += static_cast<uint64_t>(c.db.changes());
  }
  return e;
}

}  // namespace w::sql
