#include <cstring>

#include <fmt/format.h>

#include "w/msgpack.h"

namespace w::mp {
namespace {

uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Reads a container or string header: its length and where its body starts.
bool header(std::string_view raw, uint8_t fix_base, uint8_t fix_mask, uint8_t b8, uint8_t b16,
            uint8_t b32, uint64_t& len, size_t& body) {
  if (raw.empty()) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  if (fix_mask && (p[0] & ~fix_mask) == fix_base) {
    len = p[0] & fix_mask;
    body = 1;
  } else if (b8 && p[0] == b8 && raw.size() >= 2) {
    len = p[1];
    body = 2;
  } else if (p[0] == b16 && raw.size() >= 3) {
    len = be(p + 1, 2);
    body = 3;
  } else if (p[0] == b32 && raw.size() >= 5) {
    len = be(p + 1, 4);
    body = 5;
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool decode_int(std::string_view raw, int64_t& out) {
  if (raw.empty()) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const uint8_t b = p[0];
  if (b <= 0x7f) return out = b, true;
  // Negative fixint and int 8 are two's-complement bytes: b - 256 when the
  // top bit is set (arithmetic, not a signed char, which is what lint asks).
  if (b >= 0xe0) return out = static_cast<int64_t>(b) - 256, true;
  auto need = [&](size_t n) { return raw.size() >= 1 + n; };
  switch (b) {
    case 0xcc:
      return need(1) && (out = p[1], true);
    case 0xcd:
      return need(2) && (out = static_cast<int64_t>(be(p + 1, 2)), true);
    case 0xce:
      return need(4) && (out = static_cast<int64_t>(be(p + 1, 4)), true);
    case 0xcf:
      return need(8) && be(p + 1, 8) <= INT64_MAX &&
             (out = static_cast<int64_t>(be(p + 1, 8)), true);
    case 0xd0:
      return need(1) && (out = static_cast<int64_t>(p[1]) - (p[1] >= 0x80 ? 256 : 0), true);
    case 0xd1:
      return need(2) && (out = static_cast<int16_t>(be(p + 1, 2)), true);
    case 0xd2:
      return need(4) && (out = static_cast<int32_t>(be(p + 1, 4)), true);
    case 0xd3:
      return need(8) && (out = static_cast<int64_t>(be(p + 1, 8)), true);
    default:
      return false;
  }
}

bool decode_double(std::string_view raw, double& out) {
  int64_t i;
  if (decode_int(raw, i)) return out = static_cast<double>(i), true;
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  if (raw.size() >= 9 && p[0] == 0xcb) {
    uint64_t bits = be(p + 1, 8);
    std::memcpy(&out, &bits, 8);
    return true;
  }
  if (raw.size() >= 5 && p[0] == 0xca) {
    uint32_t bits = static_cast<uint32_t>(be(p + 1, 4));
    float f;
    std::memcpy(&f, &bits, 4);
    out = f;
    return true;
  }
  return false;
}

bool decode_str(std::string_view raw, std::string_view& out) {
  uint64_t len;
  size_t body;
  if (!header(raw, 0xa0, 0x1f, 0xd9, 0xda, 0xdb, len, body) &&
      !header(raw, 0, 0, 0xc4, 0xc5, 0xc6, len, body))
    return false;
  if (raw.size() - body < len) return false;
  out = raw.substr(body, static_cast<size_t>(len));
  return true;
}

bool decode_array(std::string_view raw, std::vector<std::string_view>& out) {
  uint64_t len;
  size_t body;
  if (!header(raw, 0x90, 0x0f, 0, 0xdc, 0xdd, len, body)) return false;
  out.clear();
  size_t pos = body;
  for (uint64_t i = 0; i < len; ++i) {
    long n = object_size(reinterpret_cast<const uint8_t*>(raw.data()) + pos, raw.size() - pos);
    if (n <= 0) return false;
    out.push_back(raw.substr(pos, static_cast<size_t>(n)));
    pos += static_cast<size_t>(n);
  }
  return true;
}

Result<MapView> MapView::parse(std::string_view bytes) {
  MapView view;
  W_RETURN_IF_ERROR(parse_into(bytes, view.entries_));
  return view;
}

Status MapView::parse_into(std::string_view bytes, Entries& entries) {
  // One walk: each key and value is measured (and so checked) once, and the
  // last must end where `bytes` does. (An is_one_object() first walked the
  // whole map once more: a wsql insert's rows were measured twice.) Only a
  // failure walks again, to name it as before.
  auto fail = [&](const char* why) {
    return Status::Invalid(is_one_object(bytes) ? why : "not one well-formed msgpack object");
  };
  entries.clear();
  uint64_t len;
  size_t pos;
  if (!header(bytes, 0x80, 0x0f, 0, 0xde, 0xdf, len, pos)) return fail("not a msgpack map");
  if (len > bytes.size() - pos) return fail("truncated msgpack map");  // before reserve()
  entries.reserve(static_cast<size_t>(len));
  const auto* base = reinterpret_cast<const uint8_t*>(bytes.data());
  for (uint64_t i = 0; i < len; ++i) {
    long k = object_size(base + pos, bytes.size() - pos);
    std::string_view key;
    if (k <= 0 || !decode_str(bytes.substr(pos, static_cast<size_t>(k)), key))
      return fail("msgpack map key is not a string");
    pos += static_cast<size_t>(k);
    long v = object_size(base + pos, bytes.size() - pos);
    if (v <= 0) return fail("truncated msgpack map");
    entries.emplace_back(key, bytes.substr(pos, static_cast<size_t>(v)));
    pos += static_cast<size_t>(v);
  }
  if (pos != bytes.size()) return fail("trailing bytes after a msgpack map");
  return {};
}

const std::string_view* MapView::find(std::string_view key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

std::string_view MapView::raw(std::string_view key) const {
  const std::string_view* v = find(key);
  return v ? *v : std::string_view();
}

Result<int64_t> MapView::integer(std::string_view key, int64_t fallback) const {
  const std::string_view* v = find(key);
  if (!v) return fallback;
  int64_t out;
  if (!decode_int(*v, out))
    return Status::Invalid(fmt::format("field '{}' is not an integer", key));
  return out;
}

Result<double> MapView::number(std::string_view key, double fallback) const {
  const std::string_view* v = find(key);
  if (!v) return fallback;
  double out;
  if (!decode_double(*v, out))
    return Status::Invalid(fmt::format("field '{}' is not a number", key));
  return out;
}

Result<bool> MapView::boolean(std::string_view key, bool fallback) const {
  const std::string_view* v = find(key);
  if (!v) return fallback;
  if (*v == "\xc3") return true;
  if (*v == "\xc2") return false;
  return Status::Invalid(fmt::format("field '{}' is not a boolean", key));
}

Result<std::string> MapView::string(std::string_view key, std::string fallback) const {
  const std::string_view* v = find(key);
  if (!v) return fallback;
  std::string_view s;
  if (!decode_str(*v, s)) return Status::Invalid(fmt::format("field '{}' is not a string", key));
  return std::string(s);
}

Result<std::string> MapView::bytes(std::string_view key) const {
  const std::string_view* v = find(key);
  if (!v) return Status::Invalid(fmt::format("field '{}' is missing", key));
  std::string_view s;
  if (!decode_str(*v, s)) return Status::Invalid(fmt::format("field '{}' is not bytes", key));
  return std::string(s);
}

}  // namespace w::mp
