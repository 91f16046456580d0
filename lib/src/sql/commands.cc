// The client subcommands: query, insert, databases, tables, schema, cap.
// (copy is in copy.cc.) Each builds msgpack requests, sends them through a
// Client and prints what comes back; errors come back as a Status whose
// code picks the exit code (denied 77, not found 66, bad request 65).
#include <unistd.h>

#include <ctime>
#include <deque>

#include <fmt/format.h>

#include "client.h"
#include "output.h"
#include "value.h"
#include "w/diag.h"
#include "w/msgpack.h"
#include "w/stream.h"

namespace w::sql {
namespace {

constexpr size_t kMaxBatchBytes = 4u << 20;

Result<std::unique_ptr<Client>> open(const ClientOptions& o, const std::string& url,
                                     Target* out = nullptr) {
  auto t = parse_target(url, o.cap);
  if (!t.ok()) return t.status();
  if (out) *out = *t;
  auto c = Client::connect(*t, o.timeout);
  if (!c.ok()) return c.status();
  return std::move(*c);
}

// A command-line parameter: JSON if it parses as JSON (numbers, true,
// null, "quoted"), otherwise the text itself as a string.
void pack_param(mp::Packer& pk, const std::string& text) {
  std::string packed;
  if (!text.empty() && mp::from_json(text, packed).ok()) {
    pk.raw(packed);
    return;
  }
  pk.str(text);
}

std::string simple_request(std::string_view op, std::string_view table = {}) {
  std::string req;
  mp::Packer pk(req);
  pk.map(table.empty() ? 1 : 2);
  pk.str("op"), pk.str(op);
  if (!table.empty()) pk.str("table"), pk.str(table);
  return req;
}

// Prints the strings found at field[i][key] (or field[i] itself), one a line.
Status print_names(const std::string& response, std::string_view field, std::string_view key) {
  auto view = mp::MapView::parse(response);
  std::vector<std::string_view> items;
  if (!view.ok() || !mp::decode_array(view->raw(field), items))
    return Status::Invalid("the server sent a malformed answer");
  std::string out;
  for (std::string_view item : items) {
    std::string_view s;
    if (!key.empty()) {
      auto m = mp::MapView::parse(item);
      if (!m.ok()) continue;
      item = m->raw(key);
    }
    if (mp::decode_str(item, s)) out += fmt::format("{}\n", s);
  }
  return stream::write_all(STDOUT_FILENO, out);
}

// Column types for --create, guessed from the first record's values.
std::string guess_type(std::string_view raw) {
  switch (kind_of(raw)) {
    case Kind::kInt:
    case Kind::kBool:
      return "INTEGER";
    case Kind::kFloat:
      return "REAL";
    case Kind::kStr:
    case Kind::kArray:
    case Kind::kMap:
      return "TEXT";
    case Kind::kBin:
      return "BLOB";
    default:
      return "";
  }
}

Status create_from_record(Client& c, const std::string& table, std::string_view record) {
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  if (!decode_map(record, entries)) return Status::Invalid("record 1 is not a map");
  std::string req;
  mp::Packer pk(req);
  pk.map(4);
  pk.str("op"), pk.str("create");
  pk.str("table"), pk.str(table);
  pk.str("if_not_exists"), pk.boolean(true);
  pk.str("columns"), pk.map(static_cast<uint32_t>(entries.size()));
  for (auto [k, v] : entries) pk.str(k), pk.str(guess_type(v));
  return c.call(req).status();
}

// Sends insert batches with up to `window` unanswered, so the pipe, the
// network and the server's disk work at the same time.
class Inserter {
 public:
  Inserter(Client& c, const ClientOptions& o, std::string table)
      : c_(c), o_(o), table_(std::move(table)) {}

  Status add(std::string_view record) {
    rows_.append(record);
    if (++n_ >= o_.batch || rows_.size() >= kMaxBatchBytes) return send();
    return {};
  }

  Status finish() {
    W_RETURN_IF_ERROR(send());
    while (in_flight_ > 0) W_RETURN_IF_ERROR(receive_one());
    return {};
  }

  long long changes() const { return changes_; }

 private:
  Status send() {
    if (n_ == 0) return {};
    while (in_flight_ >= o_.window) W_RETURN_IF_ERROR(receive_one());
    std::string req;
    mp::Packer pk(req);
    pk.map(o_.conflict.empty() ? 3 : 4);
    pk.str("op"), pk.str("insert");
    pk.str("table"), pk.str(table_);
    if (!o_.conflict.empty()) pk.str("conflict"), pk.str(o_.conflict);
    pk.str("rows"), pk.array(static_cast<uint32_t>(n_)), pk.raw(rows_);
    rows_.clear();
    n_ = 0;
    ++in_flight_;
    return c_.send(std::move(req));
  }

  Status receive_one() {
    auto r = c_.receive();
    --in_flight_;
    if (!r.ok()) return r.status();
    auto view = mp::MapView::parse(*r);
    if (view.ok()) changes_ += view->integer("changes").ok() ? *view->integer("changes") : 0;
    return {};
  }

  Client& c_;
  const ClientOptions& o_;
  std::string table_;
  std::string rows_;
  long long n_ = 0;
  int in_flight_ = 0;
  long long changes_ = 0;
};

// create_db / drop_db of the URL's database; `lenient` sets if_not_exists
// (create) or if_exists (drop).
Result<bool> database_op(Client& c, std::string_view op, const std::string& db, bool lenient) {
  std::string req;
  mp::Packer pk(req);
  pk.map(3);
  pk.str("op"), pk.str(op);
  pk.str("db"), pk.str(db);
  pk.str(op == "create_db" ? "if_not_exists" : "if_exists"), pk.boolean(lenient);
  auto r = c.call(req);
  if (!r.ok()) return r.status();
  auto view = mp::MapView::parse(*r);
  if (!view.ok()) return Status::Invalid("the server sent a malformed answer");
  return view->boolean(op == "create_db" ? "created" : "dropped");
}

Result<std::unique_ptr<Client>> open_database(const ClientOptions& o, const std::string& url,
                                              std::string_view command, Target& t) {
  auto c = open(o, url, &t);
  if (!c.ok()) return c.status();
  if (t.db.empty())
    return Status(Code::kUsage,
                  fmt::format("{}: the URL names no database (ws://HOST:PORT/DB)", command));
  return c;
}

}  // namespace

Status run_query(const ClientOptions& o, const std::string& url, const std::string& sql,
                 const std::vector<std::string>& params) {
  auto printer = RowPrinter::create(o.format, STDOUT_FILENO);
  if (!printer.ok()) return printer.status();
  auto c = open(o, url);
  if (!c.ok()) return c.status();
  std::string req;
  mp::Packer pk(req);
  pk.map(3);
  pk.str("op"), pk.str("sql");
  pk.str("sql"), pk.str(sql);
  pk.str("params"), pk.array(static_cast<uint32_t>(params.size()));
  for (const std::string& p : params) pack_param(pk, p);
  auto r = (*c)->call(req);
  if (!r.ok()) return r.status();
  long long count = 0;
  W_RETURN_IF_ERROR(print_rows(*r, **printer, count));
  W_RETURN_IF_ERROR((*printer)->finish());
  auto view = mp::MapView::parse(*r);
  if (view.ok() && view->has("changes"))
    diag::info("{} row(s) changed", view->integer("changes").value_or(0));
  return {};
}

Status run_insert(const ClientOptions& o, const std::string& url, const std::string& table,
                  int fd) {
  Target t;
  auto c = open(o, url, &t);
  if (!c.ok()) return c.status();
  const std::string name = table.empty() ? t.table : table;
  if (name.empty()) return Status::Invalid("insert: name the table (wsql insert URL TABLE)");
  // --create makes the database too when the capability may (the db
  // right); without it the insert says what is missing.
  if (o.create && !t.db.empty()) (void)database_op(**c, "create_db", t.db, true);
  stream::RecordReader in(fd);
  Inserter inserter(**c, o, name);
  std::string record;
  while (true) {
    auto more = in.next(record);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (o.create && in.count() == 1) W_RETURN_IF_ERROR(create_from_record(**c, name, record));
    W_RETURN_IF_ERROR(inserter.add(record));
  }
  W_RETURN_IF_ERROR(inserter.finish());
  diag::info("inserted {} row(s) into '{}' from {} record(s)", inserter.changes(), name,
             in.count());
  return {};
}

Status run_create(const ClientOptions& o, const std::string& url, bool if_missing) {
  Target t;
  auto c = open_database(o, url, "create", t);
  if (!c.ok()) return c.status();
  auto created = database_op(**c, "create_db", t.db, if_missing);
  if (!created.ok()) return created.status();
  if (*created)
    diag::info("database '{}' created", t.db);
  else
    diag::info("database '{}' exists already", t.db);
  return {};
}

Status run_drop(const ClientOptions& o, const std::string& url, bool yes, bool if_exists) {
  Target t;
  // Asked before connecting: a typo in a script must not cost a database.
  if (!yes)
    return Status(Code::kUsage,
                  "drop deletes the database and every table in it; add --yes to do it");
  auto c = open_database(o, url, "drop", t);
  if (!c.ok()) return c.status();
  auto dropped = database_op(**c, "drop_db", t.db, if_exists);
  if (!dropped.ok()) return dropped.status();
  if (*dropped)
    diag::info("database '{}' dropped", t.db);
  else
    diag::info("no database '{}'", t.db);
  return {};
}

Status run_databases(const ClientOptions& o, const std::string& url) {
  auto c = open(o, url);
  if (!c.ok()) return c.status();
  auto r = (*c)->call(simple_request("databases"));
  return r.ok() ? print_names(*r, "databases", "") : r.status();
}

Status run_tables(const ClientOptions& o, const std::string& url) {
  auto c = open(o, url);
  if (!c.ok()) return c.status();
  auto r = (*c)->call(simple_request("tables"));
  return r.ok() ? print_names(*r, "tables", "name") : r.status();
}

Status run_schema(const ClientOptions& o, const std::string& url, const std::string& table) {
  Target t;
  auto c = open(o, url, &t);
  if (!c.ok()) return c.status();
  auto r = (*c)->call(simple_request("schema", table.empty() ? t.table : table));
  if (!r.ok()) return r.status();
  auto view = mp::MapView::parse(*r);
  std::vector<std::string_view> items;
  if (!view.ok() || !mp::decode_array(view->raw("schema"), items))
    return Status::Invalid("the server sent a malformed answer");
  stream::RecordWriter out(STDOUT_FILENO, stream::Format::kJson);
  for (std::string_view item : items) W_RETURN_IF_ERROR(out.write(item));
  return out.flush();
}

Status run_cap(const CapOptions& o, const ClientOptions& client) {
  auto rights = cap::parse_rights(o.rights, right_names());
  if (!rights.ok()) return rights.status();
  const int64_t expires =
      o.expires_in > 0 ? static_cast<int64_t>(static_cast<double>(time(nullptr)) + o.expires_in)
                       : 0;
  std::string text;
  if (!o.url.empty()) {
    auto c = open(client, o.url);
    if (!c.ok()) return c.status();
    std::string req;
    mp::Packer pk(req);
    pk.map(3);
    pk.str("op"), pk.str("restrict");
    pk.str("rights"), pk.str(o.rights);
    pk.str("expires"), pk.integer(expires);
    auto r = (*c)->call(req);
    if (!r.ok()) return r.status();
    auto answer = mp::MapView::parse(*r);
    if (!answer.ok()) return answer.status();
    auto text_field = answer->string("cap");
    if (!text_field.ok()) return text_field.status();
    text = *text_field;
  } else {
    if (o.secret_file.empty() && o.key.empty())
      return Status::Invalid("cap: give --secret FILE, --key KEY or a URL");
    const cap::MintOptions mint{o.secret_file, o.key, o.db, o.rights, o.expires_in};
    auto minted = cap::mint_with(kService, mint, right_names(), "database");
    if (!minted.ok()) return minted.status();
    text = *minted;
  }
  return stream::write_all(STDOUT_FILENO, text + "\n");
}

}  // namespace w::sql
