// Reading a table from a wsql server page by page, for `wsql copy` and the
// server's copy operation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "w/sql.h"

namespace w::sql {

/// Reads a table in rowid order, one page per next().
class TableReader {
 public:
  Status start(Client& src, std::string table);
  /// The next page: `columns` as a msgpack array of names, `rows` as
  /// msgpack arrays. False when the table has no more rows.
  Result<bool> next(std::string& columns, std::vector<std::string>& rows);

 private:
  Client* src_ = nullptr;
  std::string table_, quoted_;
  int64_t last_ = INT64_MIN;
  bool done_ = false;
};

/// A `create` request (if_not_exists) for `table` with the columns and
/// primary key of a `schema` response about one table.
Result<std::string> create_request_from_schema(std::string_view schema_response,
                                               const std::string& table);

/// An `insert` request with array rows under `columns` (a msgpack array).
std::string insert_rows_request(const std::string& table, const std::string& columns,
                                const std::vector<std::string>& rows, const std::string& conflict);

}  // namespace w::sql
