// Request decoding: every field is checked for type here, so the operations
// only see well-typed values. Unknown fields are refused, so a misspelt
// "wher" fails loudly instead of deleting every row.
#include "request.h"

#include <fmt/format.h>

#include "value.h"
#include "w/msgpack.h"

namespace w::sql {
namespace {

struct OpInfo {
  Op op;
  const char* name;
  bool needs_table;
};

constexpr OpInfo kOps[] = {
    {Op::kDatabases, "databases", false},
    {Op::kCreateDb, "create_db", false},
    {Op::kDropDb, "drop_db", false},
    {Op::kTables, "tables", false},
    {Op::kSchema, "schema", false},
    {Op::kCreate, "create", true},
    {Op::kInsert, "insert", true},
    {Op::kSelect, "select", true},
    {Op::kCount, "count", true},
    {Op::kUpdate, "update", true},
    {Op::kDelete, "delete", true},
    {Op::kDrop, "drop", true},
    {Op::kSql, "sql", false},
    {Op::kCopy, "copy", true},
    {Op::kMerge, "merge", true},
    {Op::kRestrict, "restrict", false},
};

using Raw = std::string_view;

Error wrong_type(std::string_view key, const char* what) {
  return bad_request(fmt::format("field '{}' must be {}", key, what));
}

Error get_str(Raw raw, std::string_view key, std::string& out) {
  std::string_view s;
  if (kind_of(raw) != Kind::kStr || !mp::decode_str(raw, s)) return wrong_type(key, "a string");
  out = std::string(s);
  return {};
}

Error get_int(Raw raw, std::string_view key, int64_t& out, int64_t min) {
  if (!mp::decode_int(raw, out) || out < min)
    return wrong_type(key, min == 0 ? "a non-negative integer" : "an integer");
  return {};
}

Error get_bool(Raw raw, std::string_view key, bool& out) {
  if (kind_of(raw) != Kind::kBool) return wrong_type(key, "true or false");
  out = raw[0] == '\xc3';
  return {};
}

Error get_array(Raw raw, std::string_view key, std::vector<Raw>& out) {
  if (kind_of(raw) != Kind::kArray || !mp::decode_array(raw, out))
    return wrong_type(key, "an array");
  return {};
}

Error get_names(Raw raw, std::string_view key, std::vector<std::string>& out) {
  std::vector<Raw> items;
  if (Error e = get_array(raw, key, items); !e.ok()) return e;
  out.clear();
  for (Raw item : items) {
    std::string s;
    if (!get_str(item, key, s).ok()) return wrong_type(key, "an array of strings");
    out.push_back(std::move(s));
  }
  return {};
}

// create's columns: {"name": "TYPE", ...} (in order) or [["name", "TYPE"], ...].
Error get_defs(Raw raw, Request& r) {
  std::vector<std::pair<Raw, Raw>> entries;
  if (kind_of(raw) == Kind::kMap && decode_map(raw, entries)) {
    for (auto [name, type] : entries) {
      std::string t;
      if (!get_str(type, "columns", t).ok()) return wrong_type("columns", "a map of column types");
      r.defs.emplace_back(std::string(name), std::move(t));
    }
    return {};
  }
  std::vector<Raw> items;
  if (!get_array(raw, "columns", items).ok())
    return wrong_type("columns", "a map of name to type, or an array of [name, type]");
  for (Raw item : items) {
    std::vector<std::string> pair;
    if (!get_names(item, "columns", pair).ok() || pair.size() != 2)
      return wrong_type("columns", "an array of [name, type] pairs");
    r.defs.emplace_back(pair[0], pair[1]);
  }
  return {};
}

Error get_columns(Raw raw, Request& r) {
  if (r.op == Op::kCreate) return get_defs(raw, r);
  if (kind_of(raw) == Kind::kStr) return get_str(raw, "columns", r.columns_sql);
  return get_names(raw, "columns", r.columns);
}

Error get_rows(Raw raw, std::string_view key, Request& r) {
  if (key == "row") {
    if (kind_of(raw) != Kind::kMap) return wrong_type(key, "a map");
    r.rows.assign(1, raw);
    return {};
  }
  if (Error e = get_array(raw, key, r.rows); !e.ok()) return e;
  for (Raw row : r.rows) {
    Kind k = kind_of(row);
    if (k != Kind::kMap && k != Kind::kArray) return wrong_type(key, "an array of maps or arrays");
  }
  return {};
}

Error get_set(Raw raw, Request& r) {
  std::vector<std::pair<Raw, Raw>> entries;
  if (kind_of(raw) != Kind::kMap || !decode_map(raw, entries))
    return wrong_type("set", "a map of column to value");
  for (auto [name, value] : entries) r.set.emplace_back(std::string(name), value);
  return {};
}

Error get_rights(Raw raw, Request& r) {
  int64_t mask;
  if (mp::decode_int(raw, mask) && mask >= 0) {
    r.rights = fmt::format("0x{:x}", mask);
    return {};
  }
  return get_str(raw, "rights", r.rights);
}

Error get_conflict(Raw raw, Request& r) {
  if (Error e = get_str(raw, "conflict", r.conflict); !e.ok()) return e;
  if (r.conflict != "ignore" && r.conflict != "replace" && r.conflict != "abort")
    return bad_request("field 'conflict' must be \"abort\", \"ignore\" or \"replace\"");
  if (r.conflict == "abort") r.conflict.clear();
  return {};
}

// One field of a request; `key` has been matched against nothing yet.
Error get_field(std::string_view key, Raw raw, Request& r) {
  if (key == "op") return {};
  if (key == "id") return r.id = raw, Error{};
  if (key == "db") return get_str(raw, key, r.db);
  if (key == "cap") return get_str(raw, key, r.cap);
  if (key == "table") return get_str(raw, key, r.table);
  if (key == "from") return get_str(raw, key, r.from);
  if (key == "where") return get_str(raw, key, r.where);
  if (key == "order") return get_str(raw, key, r.order);
  if (key == "sql") return get_str(raw, key, r.sql);
  if (key == "columns") return get_columns(raw, r);
  if (key == "primary_key") return get_names(raw, key, r.primary_key);
  if (key == "params") return get_array(raw, key, r.params);
  if (key == "rows" || key == "row") return get_rows(raw, key, r);
  if (key == "set") return get_set(raw, r);
  if (key == "conflict") return get_conflict(raw, r);
  if (key == "limit") return get_int(raw, key, r.limit, 0);
  if (key == "offset") return get_int(raw, key, r.offset, 0);
  if (key == "if_exists") return get_bool(raw, key, r.if_exists);
  if (key == "if_not_exists") return get_bool(raw, key, r.if_not_exists);
  if (key == "rights") return get_rights(raw, r);
  if (key == "expires") return get_int(raw, key, r.expires, 0);
  return bad_request(fmt::format("unknown field '{}'", key));
}

Error check_required(const Request& r, const OpInfo& info) {
  if (info.needs_table && r.table.empty())
    return bad_request(fmt::format("{} needs a 'table'", info.name));
  if (r.op == Op::kSql && r.sql.empty()) return bad_request("sql needs an 'sql' statement");
  if ((r.op == Op::kMerge || r.op == Op::kCopy) && r.from.empty())
    return bad_request(fmt::format("{} needs 'from'", info.name));
  if (r.op == Op::kInsert && r.rows.empty()) return bad_request("insert needs 'row' or 'rows'");
  if (r.op == Op::kCreate && r.defs.empty()) return bad_request("create needs 'columns'");
  if (r.op == Op::kUpdate && r.set.empty()) return bad_request("update needs 'set'");
  return {};
}

}  // namespace

bool op_from_name(std::string_view name, Op& op) {
  for (const OpInfo& info : kOps) {
    if (name == info.name) {
      op = info.op;
      return true;
    }
  }
  return false;
}

const char* op_name(Op op) {
  for (const OpInfo& info : kOps)
    if (info.op == op) return info.name;
  return "?";
}

const char* err_name(Err e) {
  switch (e) {
    case Err::kNone:
      return "ok";
    case Err::kBadRequest:
      return "bad_request";
    case Err::kDenied:
      return "denied";
    case Err::kNotFound:
      return "not_found";
    case Err::kExists:
      return "exists";
    case Err::kSql:
      return "sql";
    case Err::kTimeout:
      return "timeout";
    case Err::kTooBig:
      return "too_big";
    case Err::kBusy:
      return "busy";
    case Err::kInternal:
      return "internal";
  }
  return "internal";
}

Error bad_request(std::string message) {
  return {Err::kBadRequest, std::move(message)};
}

Error split_message(std::string_view message, bool msgpack, std::string& storage,
                    std::vector<std::string_view>& requests, bool& batch) {
  requests.clear();
  batch = false;
  std::string_view bytes = message;
  if (!msgpack) {
    storage.clear();
    Status s = mp::from_json(message, storage);
    if (!s.ok()) return bad_request("malformed JSON: " + s.message());
    bytes = storage;
  }
  if (!mp::is_one_object(bytes)) return bad_request("malformed msgpack: not exactly one object");
  switch (kind_of(bytes)) {
    case Kind::kMap:
      requests.push_back(bytes);
      return {};
    case Kind::kArray:
      batch = true;
      if (!mp::decode_array(bytes, requests)) return bad_request("malformed request array");
      return {};
    default:
      return bad_request("a request is a map (or an array of maps)");
  }
}

Error parse_request(std::string_view msgpack, Request& out) {
  out = Request();
  std::vector<std::pair<Raw, Raw>> entries;
  if (kind_of(msgpack) != Kind::kMap || !decode_map(msgpack, entries))
    return bad_request("a request must be a map with string keys");
  for (auto [key, raw] : entries)
    if (key == "id") out.id = raw;
  std::string name;
  const OpInfo* info = nullptr;
  for (auto [key, raw] : entries) {
    if (key != "op") continue;
    if (!get_str(raw, key, name).ok() || !op_from_name(name, out.op))
      return bad_request(fmt::format("unknown op '{}'", name));
    for (const OpInfo& i : kOps)
      if (i.op == out.op) info = &i;
  }
  if (!info) return bad_request("request has no 'op'");
  for (auto [key, raw] : entries)
    if (Error e = get_field(key, raw, out); !e.ok()) return e;
  return check_required(out, *info);
}

}  // namespace w::sql
