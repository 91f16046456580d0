// Printing result rows: JSON Lines, msgpack, CSV, TSV or an aligned table.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "w/status.h"
#include "w/stream.h"

namespace w::sql {

class RowPrinter {
 public:
  /// `format`: json, msgpack, csv, tsv or table. Writes to `fd`.
  static Result<std::unique_ptr<RowPrinter>> create(std::string_view format, int fd);
  virtual ~RowPrinter() = default;
  /// Called once per result (with its column names) before its rows.
  virtual Status columns(const std::vector<std::string>& names) = 0;
  /// One row: raw msgpack values, one per column.
  virtual Status row(const std::vector<std::string_view>& values) = 0;
  /// Flushes (the table format prints everything here).
  virtual Status finish() = 0;
};

/// Prints the "columns" and "rows" of a response through `out`; counts rows.
Status print_rows(std::string_view response, RowPrinter& out, long long& count);

}  // namespace w::sql
