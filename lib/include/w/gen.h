// Dataset generators behind wgen(1).
//
// Each generator writes its records to a RecordWriter as it makes them (as
// msgpack maps; the writer turns them into JSON Lines when asked), so memory
// stays constant whatever the size: nothing is collected, grid ranges are
// computed on demand, text is read in fixed buffers. A generator returns the
// writer's Status as soon as a write fails, so a reader that goes away
// (`| head`) stops it at once with Code::kBrokenPipe.
//
// Errors: Code::kUsage for arguments that make no sense, kInvalid for
// malformed input (a CSV row that does not fit its header), kNotFound for a
// missing file, kIo for other OS failures.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "w/status.h"
#include "w/stream.h"

namespace w::gen {

/// Longest line, CSV record or file a text generator takes, so a file with
/// no newline or an unterminated quote cannot eat memory.
inline constexpr size_t kMaxLine = 64u << 20;

// ---- range and seeds ------------------------------------------------------

struct RangeOptions {
  long long from = 0, to = 0;  ///< the half-open interval [from, to)
  long long step = 0;          ///< chunk width; or
  long long chunks = 0;        ///< number of chunks (widths differ by at most 1)
};
/// {"min": a, "max": b} for consecutive half-open chunks of [from, to), the
/// last one clipped to `to`. Exactly one of step and chunks must be > 0.
Status range(const RangeOptions& o, stream::RecordWriter& out);

struct SeedsOptions {
  long long n = 0;     ///< how many records
  long long base = 0;  ///< the first seed
};
/// {"seed": base + i, "index": i} for i in [0, n).
Status seeds(const SeedsOptions& o, stream::RecordWriter& out);

// ---- grid -----------------------------------------------------------------

/// Appends the msgpack form of a literal typed the way a person means it:
/// "3" an integer, "0.5" or "1e-3" a double, "true"/"false" a boolean, and
/// anything else a string ("007", "1e999" and "nan" stay strings too).
void append_typed(std::string_view text, std::string& out);

/// One parameter of a grid: a list of typed values, or a numeric range
/// a..b[:step] whose values are computed when asked (a range of a billion
/// values costs nothing).
struct GridAxis {
  enum class Kind { kList, kInts, kReals };
  std::string name;
  Kind kind = Kind::kList;
  std::vector<std::string> list;         ///< kList: each one msgpack value
  long long first = 0, step = 1;         ///< kInts: first + i * step
  double real_first = 0, real_step = 0;  ///< kReals: rounded to `decimals`
  int decimals = 0;
  uint64_t count = 0;  ///< kInts and kReals: how many values

  uint64_t size() const { return kind == Kind::kList ? list.size() : count; }
  /// Appends value i (i < size()) as msgpack.
  void append_value(uint64_t i, std::string& out) const;
};

/// Parses "key=v1,v2,..." (typed by append_typed) or "key=a..b[:step]"
/// (inclusive; integers if a, b and step are whole, e.g. 1..10k:100, else
/// decimals rounded to the places written, so 0..1:0.1 ends at exactly 1).
/// Fails with kUsage on a malformed spec or a range with no values.
Result<GridAxis> parse_grid_axis(std::string_view spec);

/// The cartesian product of the axes, one map per combination with a key
/// per axis, the last axis varying fastest.
Status grid(const std::vector<GridAxis>& axes, stream::RecordWriter& out);

// ---- blocks ---------------------------------------------------------------

struct BlocksOptions {
  long long rows = 1, cols = 1;     ///< blocks: R x C
  long long height = 1, width = 1;  ///< cells per block: N x M (N rows of M cells)
  long long halo = 0;               ///< ghost cells each side; at most min(N, M)
};
/// Parses "RxC" (also used for --size NxM): two positive counts.
Result<std::pair<long long, long long>> parse_dims(std::string_view text);
/// One record per block of a 2-D domain decomposition, row-major:
/// {"rank", "row", "col", "rows", "cols", "y0", "y1", "x0", "x1" (half-open
/// cell ranges), "height", "width" (the whole domain), "halo", "north",
/// "south", "west", "east" (neighbour ranks, nil at an edge)}.
Status blocks(const BlocksOptions& o, stream::RecordWriter& out);

// ---- text: lines and CSV --------------------------------------------------

struct LinesOptions {
  std::string path;     ///< "-" reads stdin
  long long batch = 0;  ///< 0: a record per line; k: k lines per record
};
/// {"line": text, "n": number} per line (numbered from 1, without the "\n"
/// or "\r\n"), or with batch k {"lines": [...], "first": n} per k lines.
Status lines(const LinesOptions& o, stream::RecordWriter& out);

struct CsvOptions {
  std::string path;     ///< "-" reads stdin
  long long batch = 0;  ///< 0: a record per row; k: {"rows": [...], "first": n}
  bool header = false;  ///< the first row names the fields
};

/// Splits one CSV record into fields (RFC 4180: a field that starts with a
/// quote may hold commas, newlines and doubled quotes). Returns false when
/// `text` ends inside a quoted field, i.e. the record goes on next line.
bool split_csv(std::string_view text, std::vector<std::string>& fields);

/// A record per CSV row, fields typed by append_typed: with a header
/// {"name": value, ...}, else {"row": [...]}; with batch k,
/// {"rows": [...], "first": n} (n counts data rows from 1). Empty lines are
/// skipped; a row whose field count differs from the header's is kInvalid.
Status csv(const CsvOptions& o, stream::RecordWriter& out);

// ---- files and kernels ----------------------------------------------------

/// One record per regular file matching the glob (sorted):
/// {"name": path, "size": bytes, "data": <bin>}. kNotFound if none matches.
Status files(const std::string& pattern, stream::RecordWriter& out);

struct KernelOptions {
  std::string kernel;      ///< generator kernel .so
  std::string static_arg;  ///< its static dataset
  double timeout = 5;      ///< per call, seconds
  size_t memory_mb = 1024;
  bool insecure_sandbox = false;  ///< --insecure-sandbox: seccomp alone without Landlock
};
/// Runs a generator kernel in the sandbox: w_main gets {"call": k} for
/// k = 0, 1, ... and returns a map (one dataset), an array of maps, or
/// nil / an empty array to end.
Status kernel(const KernelOptions& o, stream::RecordWriter& out);

}  // namespace w::gen
