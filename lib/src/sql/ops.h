// The operations of the wsql protocol, one function each. The engine has
// already checked the capability against the operation's rights and opened
// the database; these build SQL with quoted names, bind every value, and
// write the response fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "database.h"
#include "request.h"
#include "w/msgpack.h"
#include "w/sql.h"

namespace w::sql {

/// The fields of one response map, counted as they are written.
struct Body {
  std::string buf;
  uint32_t fields = 0;
  mp::Packer pk{buf};
  mp::Packer& key(std::string_view k) {
    ++fields;
    pk.str(k);
    return pk;
  }
  void clear() {
    buf.clear();
    fields = 0;
  }
};

struct OpContext {
  const Request& r;
  Database& db;
  const EngineConfig& config;
  EngineStats& stats;
  Body& body;
  /// Bytes of rows this request may still answer: max_result is for the
  /// whole reply, so a batch's earlier answers used part of it.
  size_t room = SIZE_MAX;
};

Error op_tables(OpContext& c);
Error op_schema(OpContext& c);
Error op_create(OpContext& c);
Error op_drop(OpContext& c);
Error op_insert(OpContext& c);
Error op_select(OpContext& c);
Error op_count(OpContext& c);
Error op_update(OpContext& c);
Error op_delete(OpContext& c);
Error op_sql(OpContext& c);
Error op_merge(OpContext& c);

// Helpers shared by the operations (ops.cc).

/// Steps `stmt` to the end, ignoring rows.
Error step_done(Database& db, store::Statement& stmt);
/// Steps `stmt`, writing "columns" and "rows"; stops with Err::kTooBig as
/// soon as the next value would pass `c.room` bytes, checked before the
/// value is built (a zeroblob's size is known without making it).
Error pack_rows(OpContext& c, store::Statement& stmt);
/// Writes "changes" and "last_id" of the last statement.
void pack_changes(OpContext& c);
/// " WHERE (...)" for the request's where text, or "".
std::string where_clause(const Request& r);

/// Binds params[i] to parameters first+i.. of `stmt`; every ? must be a
/// plain anonymous one and the counts must match exactly (with `extra`
/// parameters the caller binds after them).
Error bind_params(store::Statement& stmt, int first, const std::vector<std::string_view>& params,
                  int extra = 0);

}  // namespace w::sql
