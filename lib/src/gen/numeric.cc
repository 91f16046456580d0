// Generators of numbers: range, grid, seeds, blocks.
#include <cmath>

#include <fmt/format.h>

#include "w/cli.h"
#include "w/gen.h"
#include "w/msgpack.h"

namespace w::gen {

Status range(const RangeOptions& o, stream::RecordWriter& out) {
  if (o.to < o.from) return Status(Code::kUsage, fmt::format("range: TO ({}) is below FROM ({})", o.to, o.from));
  if ((o.step > 0) == (o.chunks > 0)) return Status(Code::kUsage, "range: give exactly one of --step or --chunks");
  std::string rec;
  const long long span = o.to - o.from;
  auto emit = [&](long long lo, long long hi) {
    rec.clear();
    mp::Packer pk(rec);
    pk.map(2);
    pk.str("min");
    pk.integer(lo);
    pk.str("max");
    pk.integer(hi);
    return out.write(rec);
  };
  if (o.step > 0) {
    for (long long lo = o.from; lo < o.to; lo = lo > o.to - o.step ? o.to : lo + o.step)
      W_RETURN_IF_ERROR(emit(lo, lo > o.to - o.step ? o.to : lo + o.step));
    return {};
  }
  // --chunks K: K chunks whose widths differ by at most one.
  const long long k = std::min(o.chunks, std::max(span, 1LL));
  for (long long i = 0; i < k && span > 0; ++i)
    W_RETURN_IF_ERROR(emit(o.from + span / k * i + std::min(i, span % k),
                           o.from + span / k * (i + 1) + std::min(i + 1, span % k)));
  return {};
}

namespace {

// Types a literal the way a person means it: 3 -> int, 0.1 -> double,
// true/false -> bool, anything else -> string.
std::string typed_value(std::string_view text) {
  std::string out;
  mp::Packer pk(out);
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0' && errno == 0) {
    pk.integer(i);
    return out;
  }
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && *end == '\0' && errno == 0 && std::isfinite(d)) {
    pk.real(d);
    return out;
  }
  if (s == "true" || s == "false") {
    pk.boolean(s == "true");
    return out;
  }
  pk.str(s);
  return out;
}

Result<GridAxis> range_axis(std::string name, std::string_view spec) {
  // a..b[:step], inclusive; integers stay integers.
  size_t dots = spec.find("..");
  std::string_view from = spec.substr(0, dots), rest = spec.substr(dots + 2), step_text = "1";
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    step_text = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  GridAxis axis{std::move(name), {}};
  auto a = cli::parse_count(from), b = cli::parse_count(rest), st = cli::parse_count(step_text);
  if (a.ok() && b.ok() && st.ok()) {
    if (*st <= 0) return Status(Code::kUsage, fmt::format("grid: step must be positive in '{}'", spec));
    if ((*b - *a) / *st > 10'000'000) return Status(Code::kUsage, fmt::format("grid: '{}' has too many values", spec));
    for (long long v = *a; v <= *b; v += *st) {
      std::string bytes;
      mp::Packer(bytes).integer(v);
      axis.values.push_back(std::move(bytes));
    }
    return axis;
  }
  char* e1 = nullptr;
  char* e2 = nullptr;
  char* e3 = nullptr;
  std::string fs(from), ts(rest), ss(step_text);
  double da = std::strtod(fs.c_str(), &e1), db = std::strtod(ts.c_str(), &e2), ds = std::strtod(ss.c_str(), &e3);
  if (fs.empty() || ts.empty() || *e1 || *e2 || *e3 || !(ds > 0))
    return Status(Code::kUsage, fmt::format("grid: bad range '{}' (want a..b or a..b:step)", spec));
  const double n = std::floor((db - da) / ds + 1e-9);
  if (n > 1e7) return Status(Code::kUsage, fmt::format("grid: '{}' has too many values", spec));
  for (long long i = 0; i <= static_cast<long long>(n); ++i) {
    std::string bytes;
    // Computed from the index, not accumulated, so 0.1 steps do not drift.
    mp::Packer(bytes).real(std::round((da + ds * static_cast<double>(i)) * 1e12) / 1e12);
    axis.values.push_back(std::move(bytes));
  }
  return axis;
}

}  // namespace

Result<GridAxis> parse_grid_axis(std::string_view spec) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size())
    return Status(Code::kUsage, fmt::format("grid: '{}' is not key=values (e.g. lr=0.1,0.01 or n=1..10)", spec));
  std::string name(spec.substr(0, eq));
  std::string_view values = spec.substr(eq + 1);
  if (values.find("..") != std::string_view::npos && values.find(',') == std::string_view::npos)
    return range_axis(std::move(name), values);
  GridAxis axis{std::move(name), {}};
  while (true) {
    size_t comma = values.find(',');
    axis.values.push_back(typed_value(values.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    values.remove_prefix(comma + 1);
  }
  return axis;
}

Status grid(const std::vector<GridAxis>& axes, stream::RecordWriter& out) {
  if (axes.empty()) return Status(Code::kUsage, "grid: give at least one key=values");
  std::vector<size_t> at(axes.size(), 0);
  std::string rec;
  while (true) {
    rec.clear();
    mp::Packer pk(rec);
    pk.map(static_cast<uint32_t>(axes.size()));
    for (size_t i = 0; i < axes.size(); ++i) {
      pk.str(axes[i].name);
      pk.raw(axes[i].values[at[i]]);
    }
    W_RETURN_IF_ERROR(out.write(rec));
    size_t i = axes.size();
    while (i > 0 && ++at[i - 1] == axes[i - 1].values.size()) at[--i] = 0;  // odometer, last fastest
    if (i == 0) return {};
  }
}

Status seeds(long long n, long long base, stream::RecordWriter& out) {
  if (n < 0) return Status(Code::kUsage, "seeds: N must not be negative");
  std::string rec;
  for (long long i = 0; i < n; ++i) {
    rec.clear();
    mp::Packer pk(rec);
    pk.map(2);
    pk.str("seed");
    pk.integer(base + i);
    pk.str("index");
    pk.integer(i);
    W_RETURN_IF_ERROR(out.write(rec));
  }
  return {};
}

Result<std::pair<long long, long long>> parse_dims(std::string_view text) {
  size_t x = text.find('x');
  if (x == std::string_view::npos) return Status(Code::kUsage, fmt::format("'{}' is not RxC (e.g. 4x4)", text));
  auto a = cli::parse_count(text.substr(0, x)), b = cli::parse_count(text.substr(x + 1));
  if (!a.ok() || !b.ok() || *a <= 0 || *b <= 0)
    return Status(Code::kUsage, fmt::format("'{}' is not RxC with positive numbers (e.g. 4x4)", text));
  return std::make_pair(*a, *b);
}

Status blocks(const BlocksOptions& o, stream::RecordWriter& out) {
  std::string rec;
  auto rank = [&](int r, int c) { return static_cast<int64_t>(r) * o.cols + c; };
  for (int r = 0; r < o.rows; ++r) {
    for (int c = 0; c < o.cols; ++c) {
      mp::MapBuilder b;
      b.integer("rank", rank(r, c)).integer("row", r).integer("col", c);
      b.integer("rows", o.rows).integer("cols", o.cols);
      // Cells of this block: y (rows) in [y0, y1), x (columns) in [x0, x1).
      b.integer("y0", r * o.height).integer("y1", (r + 1) * o.height);
      b.integer("x0", c * o.width).integer("x1", (c + 1) * o.width);
      b.integer("height", o.rows * o.height).integer("width", o.cols * o.width);
      b.integer("halo", o.halo);
      auto neighbour = [&](const char* key, int nr, int nc) {
        if (nr < 0 || nc < 0 || nr >= o.rows || nc >= o.cols)
          b.nil(key);
        else
          b.integer(key, rank(nr, nc));
      };
      neighbour("north", r - 1, c);
      neighbour("south", r + 1, c);
      neighbour("west", r, c - 1);
      neighbour("east", r, c + 1);
      W_RETURN_IF_ERROR(out.write(b.done()));
    }
  }
  return {};
}

}  // namespace w::gen
