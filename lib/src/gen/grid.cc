// grid: parameter sweeps, the cartesian product of typed value lists.
//
// An axis is either a list of literals, typed once when parsed, or a
// numeric range kept as (first, step, count) and computed per record, so
// `n=1..1e9` needs no memory. The product is walked like an odometer, the
// last axis turning fastest, one packed map per combination.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "w/gen.h"
#include "w/msgpack.h"
#include "w/parse.h"

namespace w::gen {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// "-"? digits, with no leading zero ("007" is a code, not a number).
bool integer_syntax(std::string_view t) {
  if (!t.empty() && t[0] == '-') t.remove_prefix(1);
  if (t.empty() || (t.size() > 1 && t[0] == '0')) return false;
  for (char c : t)
    if (!is_digit(c)) return false;
  return true;
}

// Only digits, '.', exponent and signs; starts like a number; no leading zero.
bool decimal_syntax(std::string_view t) {
  std::string_view body = t.substr(!t.empty() && t[0] == '-' ? 1 : 0);
  if (body.empty() || !(is_digit(body[0]) || body[0] == '.')) return false;
  if (body.size() > 1 && body[0] == '0' && is_digit(body[1])) return false;
  return t.find_first_not_of("0123456789.eE+-") == std::string_view::npos;
}

template <class T>
bool parse_all(std::string_view t, T& value) {
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  return ec == std::errc() && end == t.data() + t.size();
}

// Decimal places a literal was written with: "0.25" -> 2, "1e-3" -> 3.
int decimals_of(std::string_view t) {
  size_t e = t.find_first_of("eE");
  std::string_view mantissa = t.substr(0, e);
  size_t dot = mantissa.find('.');
  int places = dot == std::string_view::npos ? 0 : static_cast<int>(mantissa.size() - dot - 1);
  int exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view exp = t.substr(e + 1);
    if (!exp.empty() && exp[0] == '+') exp.remove_prefix(1);
    if (!parse_all(exp, exponent)) exponent = 0;
  }
  return std::max(0, places - exponent);
}

Status bad_range(std::string_view spec, std::string_view why) {
  return Status(Code::kUsage, fmt::format("grid: bad range '{}': {}", spec, why));
}

// a..b[:step] where a, b and step are whole (parse_count: 10k, 1e3 allowed).
bool int_range(std::string_view a, std::string_view b, std::string_view s, GridAxis& axis) {
  auto first = util::parse_count(a), last = util::parse_count(b), step = util::parse_count(s);
  if (!first.ok() || !last.ok() || !step.ok()) return false;
  axis.kind = GridAxis::Kind::kInts;
  axis.first = *first;
  axis.step = *step;
  if (*step > 0 && *last >= *first)
    axis.count = (static_cast<uint64_t>(*last) - static_cast<uint64_t>(*first)) /
                     static_cast<uint64_t>(*step) +
                 1;
  return true;
}

Status real_range(std::string_view a, std::string_view b, std::string_view s, std::string_view spec,
                  GridAxis& axis) {
  double first = 0, last = 0, step = 0;
  for (auto [text, value] : {std::pair{a, &first}, {b, &last}, {s, &step}})
    if (!decimal_syntax(text) || !parse_all(text, *value) || !std::isfinite(*value))
      return bad_range(spec, fmt::format("'{}' is not a number", text));
  axis.kind = GridAxis::Kind::kReals;
  axis.real_first = first;
  axis.real_step = step;
  axis.decimals = std::max({decimals_of(a), decimals_of(b), decimals_of(s)});
  // The small slack keeps 0..1:0.1 at 11 values despite 1/0.1 = 9.999...
  const double n = std::floor((last - first) / step + 1e-9) + 1;
  if (step > 0 && last >= first) {
    if (!(n < 9e15)) return bad_range(spec, "too many values");
    axis.count = static_cast<uint64_t>(n);
  }
  return {};
}

Result<GridAxis> range_axis(std::string name, std::string_view spec) {
  const size_t dots = spec.find("..");
  std::string_view a = spec.substr(0, dots), b = spec.substr(dots + 2), s = "1";
  if (size_t colon = b.find(':'); colon != std::string_view::npos) {
    s = b.substr(colon + 1);
    b = b.substr(0, colon);
  }
  GridAxis axis;
  axis.name = std::move(name);
  if (!int_range(a, b, s, axis)) W_RETURN_IF_ERROR(real_range(a, b, s, spec, axis));
  if (axis.kind == GridAxis::Kind::kInts ? axis.step <= 0 : !(axis.real_step > 0))
    return bad_range(spec, "the step must be positive");
  if (axis.count == 0) return bad_range(spec, "it has no values (is b below a?)");
  return axis;
}

}  // namespace

void append_typed(std::string_view text, std::string& out) {
  mp::Packer pk(out);
  if (integer_syntax(text)) {
    long long i = 0;
    if (parse_all(text, i)) return pk.integer(i);
  } else if (decimal_syntax(text)) {
    double d = 0;
    if (parse_all(text, d) && std::isfinite(d)) return pk.real(d);
  } else if (text == "true" || text == "false") {
    return pk.boolean(text == "true");
  }
  pk.str(text);
}

void GridAxis::append_value(uint64_t i, std::string& out) const {
  mp::Packer pk(out);
  switch (kind) {
    case Kind::kList:
      return pk.raw(list[i]);
    case Kind::kInts:
      return pk.integer(
          static_cast<long long>(static_cast<uint64_t>(first) + i * static_cast<uint64_t>(step)));
    case Kind::kReals: {
      // From the index, not accumulated, then rounded to the places the
      // user wrote, so 0.1 steps land on 0.3 and not 0.30000000000000004.
      double v = real_first + real_step * static_cast<double>(i);
      const double scale = std::pow(10.0, decimals);
      if (decimals <= 15 && std::fabs(v * scale) < 9e15) v = std::round(v * scale) / scale;
      return pk.real(v);
    }
  }
}

Result<GridAxis> parse_grid_axis(std::string_view spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size())
    return Status(Code::kUsage,
                  fmt::format("grid: '{}' is not key=values (e.g. lr=0.1,0.01 or n=1..10)", spec));
  std::string name(spec.substr(0, eq));
  std::string_view values = spec.substr(eq + 1);
  if (values.find("..") != std::string_view::npos && values.find(',') == std::string_view::npos)
    return range_axis(std::move(name), values);
  GridAxis axis;
  axis.name = std::move(name);
  while (true) {
    const size_t comma = values.find(',');
    append_typed(values.substr(0, comma), axis.list.emplace_back());
    if (comma == std::string_view::npos) break;
    values.remove_prefix(comma + 1);
  }
  return axis;
}

Status grid(const std::vector<GridAxis>& axes, stream::RecordWriter& out) {
  if (axes.empty()) return Status(Code::kUsage, "grid: give at least one key=values");
  std::set<std::string_view> names;
  for (const GridAxis& axis : axes) {
    if (!names.insert(axis.name).second)
      return Status(Code::kUsage, fmt::format("grid: key '{}' is given twice", axis.name));
    if (axis.size() == 0)
      return Status(Code::kUsage, fmt::format("grid: key '{}' has no values", axis.name));
  }
  std::vector<uint64_t> at(axes.size(), 0);
  std::string rec;
  while (true) {
    rec.clear();
    mp::Packer pk(rec);
    pk.map(static_cast<uint32_t>(axes.size()));
    for (size_t i = 0; i < axes.size(); ++i) {
      pk.str(axes[i].name);
      axes[i].append_value(at[i], rec);
    }
    W_RETURN_IF_ERROR(out.write(rec));
    size_t i = axes.size();
    while (i > 0 && ++at[i - 1] == axes[i - 1].size()) at[--i] = 0;  // odometer, last fastest
    if (i == 0) return {};
  }
}

}  // namespace w::gen
