// Raw msgpack values <-> SQLite values.
//
// Request values stay msgpack bytes until they are bound; result columns
// are packed straight from the statement. Mapping: nil <-> NULL, bool ->
// 0/1, int <-> INTEGER, float <-> REAL, str <-> TEXT, bin <-> BLOB; arrays
// and maps are bound as their JSON text (for SQLite's JSON functions).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "w/msgpack.h"
#include "w/store.h"

namespace w::sql {

enum class Kind { kNil, kBool, kInt, kFloat, kStr, kBin, kArray, kMap, kExt, kBad };

/// The kind of the msgpack value starting `raw` (uint and int are kInt).
Kind kind_of(std::string_view raw);

/// Binds `raw` to parameter `index` of `stmt`. False if the value cannot be
/// bound (an ext, a uint past INT64_MAX, bad bytes); `why` says which.
bool bind_value(store::Statement& stmt, int index, std::string_view raw, std::string& why);

/// Appends column `col` of the current row of `stmt`.
void pack_column(mp::Packer& pk, const store::Statement& stmt, int col);

/// The (key, raw value) pairs of a msgpack map with string keys.
bool decode_map(std::string_view raw,
                std::vector<std::pair<std::string_view, std::string_view>>& out);

/// `raw` as text: strings as they are, numbers formatted, bin as base64,
/// nil as `null_text`, containers as JSON (for CSV/TSV/table output).
std::string value_text(std::string_view raw, std::string_view null_text);

}  // namespace w::sql
