// wsql requests as the server sees them, decoded from JSON or msgpack.
//
// A message is one request (a map) or an array of them. JSON is converted
// to msgpack first, so there is one decoder, and it is the one the fuzz
// target drives (test/fuzz/wsql_request_fuzz.cc). Values a request carries
// for binding (params, row values) stay as raw msgpack views into the
// message; the message bytes must outlive the Request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace w::sql {

enum class Op {
  kDatabases,
  kCreateDb,
  kDropDb,
  kTables,
  kSchema,
  kCreate,
  kInsert,
  kSelect,
  kCount,
  kUpdate,
  kDelete,
  kDrop,
  kSql,
  kCopy,
  kMerge,
  kRestrict,
};

/// The operation named `name`, or false if there is none.
bool op_from_name(std::string_view name, Op& op);
const char* op_name(Op op);

/// Error codes of the protocol, as they appear in {"error": {"code": ...}}.
enum class Err {
  kNone,
  kBadRequest,
  kDenied,
  kNotFound,
  kExists,
  kSql,
  kTimeout,
  kTooBig,
  kBusy,
  kInternal
};
const char* err_name(Err e);

/// What went wrong with one request; code kNone means it did not.
struct Error {
  Err code = Err::kNone;
  std::string message;
  bool ok() const { return code == Err::kNone; }
};
Error bad_request(std::string message);

struct Request {
  std::string_view id;  ///< raw msgpack of "id", echoed verbatim; empty if absent
  Op op = Op::kSql;
  std::string db;   ///< "" = the connection's database
  std::string cap;  ///< "" = the connection's capability
  std::string table;
  std::string from;                  ///< merge: source table; copy: source URL
  std::string where;                 ///< SQL with plain ? placeholders
  std::string order;                 ///< SQL: an ORDER BY list
  std::string sql;                   ///< the sql op's statement
  std::string columns_sql;           ///< select: columns as one SQL string
  std::vector<std::string> columns;  ///< select: column names; insert: row array layout
  std::vector<std::pair<std::string, std::string>> defs;      ///< create: name, type
  std::vector<std::string> primary_key;                       ///< create
  std::vector<std::pair<std::string, std::string_view>> set;  ///< update: name, raw value
  std::vector<std::string_view> params;  ///< raw msgpack values for the ?s, in order
  std::vector<std::string_view> rows;    ///< insert: raw maps, or raw arrays with `columns`
  std::string conflict;                  ///< insert: "", "ignore" or "replace"
  int64_t limit = -1;
  int64_t offset = 0;
  bool if_exists = false;
  bool if_not_exists = false;
  std::string rights;   ///< restrict: names ("read,write") or a hex mask
  int64_t expires = 0;  ///< restrict: unix seconds, 0 = keep
};

/// Splits a message into views of its requests' msgpack bytes, pointing
/// into `message` or, for JSON text, into `storage` (the message converted
/// to msgpack). `batch` says whether the message was an array (answered
/// with an array). Fails with bad_request on malformed input.
Error split_message(std::string_view message, bool msgpack, std::string& storage,
                    std::vector<std::string_view>& requests, bool& batch);

/// Decodes one request map. On failure `out.id` is still set when the
/// request had a readable id, so the error can be matched to it.
Error parse_request(std::string_view msgpack, Request& out);

}  // namespace w::sql
