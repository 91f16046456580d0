// Copying a table between wsql URLs, page by page: rows are read in rowid
// order with keyset paging (WHERE rowid > last), so every page costs the
// same however deep into the table it is, and each page is inserted into
// the destination while the next one is read.
#include "copy.h"

#include <algorithm>

#include <fmt/format.h>

#include "client.h"
#include "database.h"
#include "ops.h"
#include "request.h"
#include "w/diag.h"
#include "w/msgpack.h"

namespace w::sql {
namespace {

constexpr int kPage = 5000;

// The affinity keyword for a declared type (SQLite's rules, §3.1 of
// datatype3), so any source type makes a valid `create` column.
std::string affinity(std::string type) {
  for (char& ch : type) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (type.find("INT") != std::string::npos) return "INTEGER";
  if (type.find("CHAR") != std::string::npos || type.find("CLOB") != std::string::npos ||
      type.find("TEXT") != std::string::npos)
    return "TEXT";
  if (type.empty() || type.find("BLOB") != std::string::npos) return "";
  if (type.find("REAL") != std::string::npos || type.find("FLOA") != std::string::npos ||
      type.find("DOUB") != std::string::npos)
    return "REAL";
  return "NUMERIC";
}

}  // namespace

Result<std::string> create_request_from_schema(std::string_view schema_response,
                                               const std::string& table) {
  auto view = mp::MapView::parse(schema_response);
  std::vector<std::string_view> tables, columns;
  if (!view.ok() || !mp::decode_array(view->raw("schema"), tables) || tables.size() != 1)
    return Status::Invalid("the source sent a malformed schema");
  auto entry = mp::MapView::parse(tables[0]);
  if (!entry.ok() || !mp::decode_array(entry->raw("columns"), columns))
    return Status::Invalid("the source sent a malformed schema");
  std::string defs, keys;
  uint32_t nkeys = 0;
  std::vector<std::pair<int64_t, std::string>> pk_order;
  mp::Packer dp(defs);
  for (std::string_view col : columns) {
    auto c = mp::MapView::parse(col);
    if (!c.ok()) return Status::Invalid("the source sent a malformed column");
    std::string name = c->string("name").ok() ? *c->string("name") : "";
    dp.str(name), dp.str(affinity(c->string("type").ok() ? *c->string("type") : ""));
    if (int64_t pk = c->integer("pk").ok() ? *c->integer("pk") : 0; pk > 0)
      pk_order.emplace_back(pk, name);
  }
  std::sort(pk_order.begin(), pk_order.end());
  mp::Packer kp(keys);
  for (const auto& [n, name] : pk_order) kp.str(name), ++nkeys;
  std::string req;
  mp::Packer pk(req);
  pk.map(nkeys ? 5 : 4);
  pk.str("op"), pk.str("create");
  pk.str("table"), pk.str(table);
  pk.str("if_not_exists"), pk.boolean(true);
  pk.str("columns"), pk.map(static_cast<uint32_t>(columns.size())), pk.raw(defs);
  if (nkeys) pk.str("primary_key"), pk.array(nkeys), pk.raw(keys);
  return req;
}

Status TableReader::start(Client& src, std::string table) {
  src_ = &src;
  table_ = std::move(table);
  return quote_ident(table_, quoted_).ok()
             ? Status()
             : Status::Invalid(fmt::format("bad table name '{}'", table_));
}

Result<bool> TableReader::next(std::string& columns, std::vector<std::string>& rows) {
  if (done_) return false;
  std::string req;
  mp::Packer pk(req);
  pk.map(3);
  pk.str("op"), pk.str("sql");
  pk.str("sql"),
      pk.str(fmt::format(
          "SELECT rowid AS \"wsql.rowid\", * FROM {} WHERE rowid > ? ORDER BY rowid LIMIT ?",
          quoted_));
  pk.str("params"), pk.array(2), pk.integer(last_), pk.integer(kPage);
  auto r = src_->call(req);
  if (!r.ok()) return r.status();
  auto view = mp::MapView::parse(*r);
  std::vector<std::string_view> cols, items, values;
  if (!view.ok() || !mp::decode_array(view->raw("columns"), cols) ||
      !mp::decode_array(view->raw("rows"), items) || cols.empty())
    return Status::Invalid("the source sent malformed rows");
  // Drop the rowid column we added; remember the last rowid for the next page.
  columns.clear();
  mp::Packer cp(columns);
  cp.array(static_cast<uint32_t>(cols.size() - 1));
  for (size_t i = 1; i < cols.size(); ++i) cp.raw(cols[i]);
  rows.clear();
  for (std::string_view item : items) {
    if (!mp::decode_array(item, values) || values.size() != cols.size() ||
        !mp::decode_int(values[0], last_))
      return Status::Invalid("the source sent a malformed row");
    std::string row;
    mp::Packer rp(row);
    rp.array(static_cast<uint32_t>(values.size() - 1));
    for (size_t i = 1; i < values.size(); ++i) rp.raw(values[i]);
    rows.push_back(std::move(row));
  }
  done_ = items.size() < static_cast<size_t>(kPage);
  return !items.empty();
}

std::string insert_rows_request(const std::string& table, const std::string& columns,
                                const std::vector<std::string>& rows, const std::string& conflict) {
  std::string req;
  mp::Packer pk(req);
  pk.map(conflict.empty() ? 4 : 5);
  pk.str("op"), pk.str("insert");
  pk.str("table"), pk.str(table);
  pk.str("columns"), pk.raw(columns);
  if (!conflict.empty()) pk.str("conflict"), pk.str(conflict);
  pk.str("rows"), pk.array(static_cast<uint32_t>(rows.size()));
  for (const std::string& r : rows) pk.raw(r);
  return req;
}

Status run_copy(const ClientOptions& o, const std::string& src_url, const std::string& dst_url) {
  auto src_t = parse_target(src_url, o.cap);
  if (!src_t.ok()) return src_t.status();
  auto dst_t = parse_target(dst_url, o.cap);
  if (!dst_t.ok()) return dst_t.status();
  if (src_t->table.empty())
    return Status::Invalid(fmt::format("copy: '{}' names no table (URL/DB/TABLE)", src_url));
  const std::string dst_table = dst_t->table.empty() ? src_t->table : dst_t->table;
  auto src = Client::connect(*src_t, o.timeout);
  if (!src.ok()) return src.status();
  auto dst = Client::connect(*dst_t, o.timeout);
  if (!dst.ok()) return dst.status();
  if (o.create) {
    std::string req;
    mp::Packer pk(req);
    pk.map(2), pk.str("op"), pk.str("schema"), pk.str("table"), pk.str(src_t->table);
    auto schema = (*src)->call(req);
    if (!schema.ok()) return schema.status().with_context("copy: source schema");
    auto create = create_request_from_schema(*schema, dst_table);
    if (!create.ok()) return create.status();
    W_RETURN_IF_ERROR((*dst)->call(*create).status().with_context("copy: create"));
  }
  TableReader reader;
  W_RETURN_IF_ERROR(reader.start(**src, src_t->table));
  std::string columns;
  std::vector<std::string> rows;
  long long copied = 0;
  int in_flight = 0;
  while (true) {
    auto more = reader.next(columns, rows);
    if (!more.ok()) return more.status().with_context("copy: read");
    if (!*more) break;
    copied += static_cast<long long>(rows.size());
    W_RETURN_IF_ERROR((*dst)->send(insert_rows_request(dst_table, columns, rows, o.conflict)));
    if (++in_flight >= o.window) {
      W_RETURN_IF_ERROR((*dst)->receive().status().with_context("copy: insert"));
      --in_flight;
    }
  }
  for (; in_flight > 0; --in_flight)
    W_RETURN_IF_ERROR((*dst)->receive().status().with_context("copy: insert"));
  diag::info("copied {} row(s) from '{}' to '{}'", copied, src_t->table, dst_table);
  return {};
}

namespace {

// Creates the destination like the source unless it exists.
Error create_like(OpContext& c, Client& src, const std::string& src_table) {
  std::string req;
  mp::Packer pk(req);
  pk.map(2), pk.str("op"), pk.str("schema"), pk.str("table"), pk.str(src_table);
  auto schema = src.call(req);
  if (!schema.ok()) return {Err::kNotFound, "copy: source schema: " + schema.status().message()};
  auto create = create_request_from_schema(*schema, c.r.table);
  if (!create.ok()) return bad_request(create.status().message());
  Request cr;
  if (Error e = parse_request(*create, cr); !e.ok()) return e;
  Body ignored;
  OpContext cc{cr, c.db, c.config, c.stats, ignored};
  return op_create(cc);
}

Error copy_pages(OpContext& c, Client& src, const std::string& src_table, int64_t& copied) {
  TableReader reader;
  if (Status s = reader.start(src, src_table); !s.ok()) return bad_request(s.message());
  std::string columns;
  std::vector<std::string> rows;
  while (true) {
    auto more = reader.next(columns, rows);
    if (!more.ok()) return {Err::kSql, "copy: read: " + more.status().message()};
    if (!*more) return {};
    std::string req = insert_rows_request(c.r.table, columns, rows, c.r.conflict);
    Request ir;
    if (Error e = parse_request(req, ir); !e.ok()) return e;
    Body body;
    OpContext ic{ir, c.db, c.config, c.stats, body};
    if (Error e = op_insert(ic); !e.ok()) return e;
    copied += static_cast<int64_t>(rows.size());
    if (c.db.past_deadline())
      return {Err::kTimeout, "copy ran past its time budget; use wsql copy"};
  }
}

}  // namespace

// The server's copy operation: pulls `from` (a wsql URL naming a table)
// into the request's table, all in one savepoint. It blocks the server
// while it runs, so it is bounded by the request's time budget; `wsql
// copy` moves big tables without that limit.
Error op_copy(OpContext& c) {
  auto t = parse_target(c.r.from, "");
  if (!t.ok()) return bad_request(t.status().message());
  const std::string src_table = t->table.empty() ? c.r.table : t->table;
  auto src = Client::connect(*t, c.config.timeout);
  if (!src.ok()) return {Err::kNotFound, "copy: " + src.status().message()};
  if (Error e = c.db.begin_write(); !e.ok()) return e;
  int64_t copied = 0;
  Error e = c.r.if_not_exists ? create_like(c, **src, src_table) : Error{};
  if (e.ok()) e = copy_pages(c, **src, src_table, copied);
  c.db.end_write(e.ok());
  if (e.ok()) c.body.key("changes").integer(copied);
  return e;
}

}  // namespace w::sql
