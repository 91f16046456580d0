// Copying a table between wsql URLs, page by page: rows are read in rowid
// order with keyset paging (WHERE rowid > last), so every page costs the
// same however deep into the table it is. `wsql copy` inserts each page
// while the next one is read. The server's copy operation reads the whole
// source first, on a copy thread and holding no database (the source may
// be the same server), within the request's budget and kCopyMaxBytes,
// then inserts it in one savepoint on the database's worker.
#include "copy.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "client.h"
#include "database.h"
#include "engine_impl.h"
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

constexpr size_t kCopyMaxBytes = 64u << 20;  // rows a server copy holds in memory

// The one message for every way a source can fail to be a wsql server: a
// refused connection, a timeout, another protocol, garbage. It is given
// at the request's deadline whatever happened, so neither the text nor the
// time tells an open port from a closed one (no port scanner).
constexpr char kNoSource[] =
    "copy: the source did not answer as a wsql server (a wrong address, no server, or no "
    "answer within the statement timeout)";

// True if `s` is a wsql error answer (check_response: "CODE: message").
bool wsql_answer(const Status& s) {
  const std::string& m = s.message();
  for (Err e : {Err::kBadRequest, Err::kDenied, Err::kNotFound, Err::kExists, Err::kSql,
                Err::kTimeout, Err::kTooBig, Err::kBusy, Err::kInternal}) {
    const std::string prefix = std::string(err_name(e)) + ": ";
    if (m.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

double seconds_left(int64_t deadline_ns) {
  if (deadline_ns == 0) return 3600;
  return std::max(0.001, static_cast<double>(deadline_ns - now_ns()) / 1e9);
}

// Sleeps until the deadline (or a cancel), so a failure takes as long as a
// source that never answers.
void wait_until(int64_t deadline_ns, const std::atomic<bool>& cancel) {
  while (deadline_ns != 0 && now_ns() < deadline_ns && !cancel.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

Error fetch_source(const Request& r, int64_t deadline_ns, const std::atomic<bool>& cancel,
                   CopySource& out) {
  auto t = parse_target(r.from, "");
  if (!t.ok()) return bad_request(t.status().message());
  const std::string src_table = t->table.empty() ? r.table : t->table;
  bool spoke = false;  // the source answered like a wsql server
  auto fail = [&](const Status& s) -> Error {
    if (wsql_answer(s)) return {Err::kNotFound, "copy: the source answered: " + s.message()};
    if (spoke) return {Err::kNotFound, "copy: the source stopped answering: " + s.message()};
    wait_until(deadline_ns, cancel);
    return {Err::kNotFound, kNoSource};
  };
  auto src = connect_client(*t, seconds_left(deadline_ns), kCopyMaxBytes + (1u << 20));
  if (!src.ok()) return fail(src.status());
  if (r.if_not_exists) {
    std::string req;
    mp::Packer pk(req);
    pk.map(2), pk.str("op"), pk.str("schema"), pk.str("table"), pk.str(src_table);
    auto schema = (*src)->call(req);
    if (!schema.ok()) return fail(schema.status());
    spoke = true;
    out.schema = std::move(*schema);
  }
  TableReader reader;
  if (Status s = reader.start(**src, src_table); !s.ok()) return bad_request(s.message());
  std::vector<std::string> rows;
  size_t bytes = 0;
  while (true) {
    if (cancel.load()) return {Err::kTimeout, "request cancelled"};
    if (deadline_ns != 0 && now_ns() > deadline_ns)
      return {Err::kTimeout, "copy ran past its time budget; use wsql copy"};
    (*src)->set_timeout(seconds_left(deadline_ns));
    auto more = reader.next(out.columns, rows);
    if (!more.ok()) return fail(more.status());
    spoke = true;
    if (!*more) return {};
    for (const std::string& row : rows) bytes += row.size();
    if (bytes > kCopyMaxBytes)
      return {Err::kTooBig, fmt::format("copy: the source table passed {} MiB, the most a server "
                                        "copy holds; use wsql copy",
                                        kCopyMaxBytes >> 20)};
    out.rows += static_cast<int64_t>(rows.size());
    out.pages.push_back(insert_rows_request(r.table, out.columns, rows, r.conflict));
  }
}

// Inserts what fetch_source() read, creating the table first if asked, all
// in one savepoint: the copy is whole or absent.
Error copy_into(OpContext& c, const CopySource& source) {
  if (Error e = c.db.begin_write(); !e.ok()) return e;
  Error e;
  if (c.r.if_not_exists) {
    auto create = create_request_from_schema(source.schema, c.r.table);
    Request cr;
    e = create.ok() ? parse_request(*create, cr) : bad_request(create.status().message());
    Body ignored;
    OpContext cc{cr, c.db, c.config, c.stats, ignored};
    if (e.ok()) e = op_create(cc);
  }
  for (size_t i = 0; e.ok() && i < source.pages.size(); ++i) {
    Request ir;
    e = parse_request(source.pages[i], ir);
    Body body;
    OpContext ic{ir, c.db, c.config, c.stats, body};
    if (e.ok()) e = op_insert(ic);
    if (e.ok() && c.db.past_deadline())
      e = {Err::kTimeout, "copy ran past its time budget; use wsql copy"};
  }
  c.db.end_write(e.ok());
  if (e.ok()) c.body.key("changes").integer(source.rows);
  return e;
}

}  // namespace w::sql
