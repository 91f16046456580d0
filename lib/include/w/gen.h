// Dataset generators behind wgen(1). Each writes records to a RecordWriter
// as it makes them, so memory stays constant whatever the size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "w/status.h"
#include "w/stream.h"

namespace w::gen {

struct RangeOptions {
  long long from = 0, to = 0;
  long long step = 0;    ///< chunk width; or
  long long chunks = 0;  ///< number of chunks (widths differ by at most 1)
};
/// {"min": a, "max": b} for consecutive half-open chunks of [from, to).
Status range(const RangeOptions& o, stream::RecordWriter& out);

/// One parameter of a grid: its name and its values as msgpack.
struct GridAxis {
  std::string name;
  std::vector<std::string> values;  ///< each one msgpack value
};
/// Parses "key=v1,v2,..." or "key=a..b[:step]" (inclusive). Values are typed:
/// integers, decimals, true/false, else strings.
Result<GridAxis> parse_grid_axis(std::string_view spec);
/// The cartesian product of the axes, the last one varying fastest.
Status grid(const std::vector<GridAxis>& axes, stream::RecordWriter& out);

/// {"seed": base + i, "index": i} for i in [0, n).
Status seeds(long long n, long long base, stream::RecordWriter& out);

struct BlocksOptions {
  int rows = 1, cols = 1;            ///< blocks: R x C
  long long height = 1, width = 1;   ///< cells per block: N x M (N rows of M cells)
  int halo = 0;
};
/// Parses "RxC" (also used for --size NxM).
Result<std::pair<long long, long long>> parse_dims(std::string_view text);
/// One record per block of a 2-D domain decomposition, with its cell ranges
/// and its neighbours' ranks (nil at the edges).
Status blocks(const BlocksOptions& o, stream::RecordWriter& out);

/// {"line": text, "n": number} per line, or with batch > 1
/// {"lines": [...], "first": n}. "-" reads stdin.
Status lines(const std::string& path, long long batch, stream::RecordWriter& out);

/// Splits one CSV record (RFC 4180 quoting). `line` may need more input
/// when a quoted field spans lines: returns false then.
bool split_csv(std::string_view line, std::vector<std::string>& fields);
/// A CSV row per record: with a header {"col": value, ...}, else {"row": [...]};
/// with batch > 1, {"rows": [...], "first": n}. Numbers are typed.
Status csv(const std::string& path, long long batch, bool header, stream::RecordWriter& out);

/// One record per file matching the glob: {"name", "size", "data": bytes}.
Status files(const std::string& pattern, stream::RecordWriter& out);

struct KernelOptions {
  std::string kernel;      ///< generator kernel .so
  std::string static_arg;  ///< its static dataset
  double timeout = 5;      ///< per call, seconds
  size_t memory_mb = 1024;
};
/// Runs a generator kernel in the sandbox: w_main gets {"call": k} for
/// k = 0, 1, ... and returns a map (one dataset), an array of maps, or
/// nil / an empty array to end.
Status kernel(const KernelOptions& o, stream::RecordWriter& out);

}  // namespace w::gen
