#include "fields.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "worker_messages.h"

namespace w::proto {
namespace {

uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// An unsigned 64-bit value past INT64_MAX: msgpack can say it, we never take it.
bool huge_uint(std::string_view raw) {
  return raw.size() == 9 && static_cast<uint8_t>(raw[0]) == 0xcf &&
         be(reinterpret_cast<const uint8_t*>(raw.data()) + 1, 8) > INT64_MAX;
}

bool is_str(std::string_view raw) {
  const auto b = static_cast<uint8_t>(raw.empty() ? 0xc1 : raw[0]);
  return (b >= 0xa0 && b <= 0xbf) || b == 0xd9 || b == 0xda || b == 0xdb;
}

bool is_bin(std::string_view raw) {
  const auto b = static_cast<uint8_t>(raw.empty() ? 0xc1 : raw[0]);
  return b == 0xc4 || b == 0xc5 || b == 0xc6;
}

bool name_char_ok(unsigned char c) {
  return c >= 0x20 && c != 0x7f;
}

bool token_char_ok(unsigned char c) {
  return std::isalnum(c) || c == '.' || c == '_' || c == '-';
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
size_t utf8_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xe0) == 0xc0) {
    n = 2, cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

}  // namespace

std::string_view kind_of(std::string_view raw) {
  if (raw.empty() || !mp::is_one_object(raw)) return "truncated";
  const auto b = static_cast<uint8_t>(raw[0]);
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
    return huge_uint(raw) ? "an integer past 2^63-1" : "an integer";
  if (b <= 0x8f || b == 0xde || b == 0xdf) return "a map";
  if (b <= 0x9f || b == 0xdc || b == 0xdd) return "an array";
  if (is_str(raw)) return "a string";
  if (is_bin(raw)) return "bin";
  switch (b) {
    case 0xc0:
      return "nil";
    case 0xc2:
    case 0xc3:
      return "a boolean";
    case 0xca:
    case 0xcb:
      return "a float";
    default:
      return "an extension";
  }
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_at(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string clean_text(std::string_view s, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xef\xbf\xbd";
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_at(s, i);
    const std::string_view piece = n ? s.substr(i, n) : kReplacement;
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += n ? n : 1;
  }
  return out;
}

Fields::Fields(std::string_view bytes, std::string type, std::string at)
    : type_(std::move(type)), at_(std::move(at)) {
  parse(bytes);
}

Fields::Fields(std::string_view bytes, const Fields& parent, std::string_view key, size_t index)
    : parent_(&parent), key_(key), index_(index) {
  parse(bytes);
}

void Fields::parse(std::string_view bytes) {
  auto where = [this] {
    const std::string path = at();
    return path.empty() ? type() : type() + ": " + path;
  };
  if (bytes.empty() || !mp::starts_map(static_cast<uint8_t>(bytes[0]))) {
    status_ = Status::Invalid(fmt::format("{}: expected a map, got {}", where(), kind_of(bytes)));
    return;
  }
  auto map = mp::MapView::parse(bytes);
  if (!map.ok()) {
    status_ = Status::Invalid(fmt::format("{}: {}", where(), map.status().message()));
    return;
  }
  map_ = std::move(*map);
}

std::string Fields::at() const {
  if (!parent_) return at_;
  const std::string up = parent_->at();
  return fmt::format("{}{}{}[{}]", up, up.empty() ? "" : ".", key_, index_);
}

void Fields::fail(std::string_view key, std::string_view why) {
  if (!ok()) return;
  const std::string path = at();
  status_ = Status::Invalid(
      fmt::format("{}: {}{}{}: {}", type(), path, path.empty() ? "" : ".", key, why));
}

void Fields::wrong(std::string_view key, std::string_view expected, std::string_view raw) {
  fail(key, fmt::format("expected {}, got {}", expected, kind_of(raw)));
}

std::string_view Fields::find(std::string_view key, Need need) {
  if (!ok()) return {};
  std::string_view raw = map_.raw(key);
  if (raw.empty() && need == Need::kRequired) fail(key, "missing");
  return raw;
}

void Fields::text(std::string_view key, std::string& out, size_t max_bytes, Text check, Need need) {
  const std::string_view raw = find(key, need);
  if (raw.empty()) return;
  std::string_view s;
  if (!is_str(raw) || !mp::decode_str(raw, s)) return wrong(key, "a string", raw);
  if (s.size() > max_bytes)
    return fail(key, fmt::format("{} bytes is longer than the limit ({})", s.size(), max_bytes));
  if (!valid_utf8(s)) return fail(key, "not valid UTF-8");
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (check == Text::kName && !name_char_ok(u))
      return fail(key, fmt::format("control character 0x{:02x} in a name", u));
    if (check == Text::kToken && !token_char_ok(u))
      return fail(key, fmt::format("'{}' may hold only A-Z a-z 0-9 . _ -", std::string(s)));
  }
  out.assign(s);
}

void Fields::integer(std::string_view key, int64_t& out, int64_t min, int64_t max, Need need) {
  const std::string_view raw = find(key, need);
  if (raw.empty()) return;
  int64_t v;
  if (huge_uint(raw))
    return fail(key,
                fmt::format("{} is out of range ({} to {})",
                            be(reinterpret_cast<const uint8_t*>(raw.data()) + 1, 8), min, max));
  if (!mp::decode_int(raw, v)) return wrong(key, "an integer", raw);
  if (v < min || v > max)
    return fail(key, fmt::format("{} is out of range ({} to {})", v, min, max));
  out = v;
}

void Fields::integer(std::string_view key, int& out, int min, int max, Need need) {
  int64_t v = out;
  integer(key, v, min, max, need);
  if (ok()) out = static_cast<int>(v);
}

void Fields::number(std::string_view key, double& out, double min, double max, Need need) {
  const std::string_view raw = find(key, need);
  if (raw.empty()) return;
  double v;  // decode_double takes integers and floats only
  if (!mp::decode_double(raw, v)) return wrong(key, "a number", raw);
  if (!std::isfinite(v) || v < min || v > max)
    return fail(key, fmt::format("{:g} is out of range ({:g} to {:g})", v, min, max));
  out = v;
}

void Fields::boolean(std::string_view key, bool& out, Need need) {
  const std::string_view raw = find(key, need);
  if (raw.empty()) return;
  if (raw == "\xc3")
    out = true;
  else if (raw == "\xc2")
    out = false;
  else
    wrong(key, "a boolean", raw);
}

void Fields::bin(std::string_view key, std::string_view& out, Need need) {
  const std::string_view raw = find(key, need);
  if (raw.empty()) return;
  std::string_view s;
  if (!is_bin(raw) || !mp::decode_str(raw, s)) return wrong(key, "bin", raw);
  out = s;
}

void Fields::any(std::string_view key, std::string_view& out, Need need) {
  const std::string_view raw = find(key, need);
  if (!raw.empty()) out = raw;  // MapView::parse checked it is one object
}

void Fields::array(std::string_view key, std::vector<std::string_view>& out, size_t max_items,
                   Need need) {
  const std::string_view raw = find(key, need);
  if (raw.empty()) return;
  if (!mp::decode_array(raw, out)) return wrong(key, "an array", raw);
  if (out.size() > max_items)
    fail(key, fmt::format("{} items is more than the limit ({})", out.size(), max_items));
}

void Fields::integers(std::string_view key, std::vector<int64_t>& out, size_t max_items,
                      int64_t min, int64_t max, Need need) {
  std::vector<std::string_view> raws;
  array(key, raws, max_items, need);
  if (!ok()) return;
  out.clear();
  out.reserve(raws.size());
  for (size_t i = 0; i < raws.size(); ++i) {
    int64_t v;
    if (!mp::decode_int(raws[i], v))
      return wrong(fmt::format("{}[{}]", key, i), "an integer", raws[i]);
    if (v < min || v > max)
      return fail(fmt::format("{}[{}]", key, i),
                  fmt::format("{} is out of range ({} to {})", v, min, max));
    out.push_back(v);
  }
}

std::string read_type(Fields& f, bool rename) {
  std::string t;
  f.text("t", t, 32, Text::kToken, Need::kRequired);
  if (f.ok() && t.empty()) f.fail("t", "empty");
  if (f.ok() && rename) f.set_type(t);
  return t;
}

void read_sha(Fields& f, std::string_view key, std::string& out, Need need) {
  f.text(key, out, 64, Text::kToken, need);
  if (f.ok() && f.has(key) && !is_sha256(out))
    f.fail(key, fmt::format("'{}' is not a sha256 (64 lowercase hex digits)", out));
}

bool is_sha256(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace w::proto
