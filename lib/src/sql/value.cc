#include "value.h"

#include <cstring>

#include <fmt/format.h>

#include "w/base64.h"

namespace w::sql {
namespace {

uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Exactly-sized scalar headers, so a truncated value is never read past.
bool decode_uint64(std::string_view raw, uint64_t& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  if (raw.size() == 9 && p[0] == 0xcf) return out = be(p + 1, 8), true;
  return false;
}

}  // namespace

Kind kind_of(std::string_view raw) {
  if (raw.empty()) return Kind::kBad;
  const uint8_t b = static_cast<uint8_t>(raw[0]);
  if (b <= 0x7f || b >= 0xe0) return Kind::kInt;
  if (b <= 0x8f) return Kind::kMap;
  if (b <= 0x9f) return Kind::kArray;
  if (b <= 0xbf) return Kind::kStr;
  switch (b) {
    case 0xc0:
      return Kind::kNil;
    case 0xc2:
    case 0xc3:
      return Kind::kBool;
    case 0xc4:
    case 0xc5:
    case 0xc6:
      return Kind::kBin;
    case 0xca:
    case 0xcb:
      return Kind::kFloat;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return Kind::kInt;
    case 0xd9:
    case 0xda:
    case 0xdb:
      return Kind::kStr;
    case 0xdc:
    case 0xdd:
      return Kind::kArray;
    case 0xde:
    case 0xdf:
      return Kind::kMap;
    case 0xc7:
    case 0xc8:
    case 0xc9:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      return Kind::kExt;
    default:
      return Kind::kBad;
  }
}

// Values are bound as copies (SQLITE_TRANSIENT): a request's bytes and
// the JSON made here need not outlive the call.
bool bind_value(store::Statement& stmt, int index, std::string_view raw, std::string& why) {
  switch (kind_of(raw)) {
    case Kind::kNil:
      stmt.bind_null(index);
      break;
    case Kind::kBool:
      stmt.bind_int(index, raw[0] == '\xc3');
      break;
    case Kind::kInt: {
      int64_t v;
      uint64_t u;
      if (mp::decode_int(raw, v)) {
        stmt.bind_int64(index, v);
      } else if (decode_uint64(raw, u)) {
        why = fmt::format("integer {} does not fit SQLite's 64-bit signed INTEGER", u);
        return false;
      } else {
        why = "truncated integer";
        return false;
      }
      break;
    }
    case Kind::kFloat: {
      double d;
      if (!mp::decode_double(raw, d)) return why = "truncated float", false;
      stmt.bind_double(index, d);
      break;
    }
    case Kind::kStr:
    case Kind::kBin: {
      std::string_view s;
      if (!mp::decode_str(raw, s)) return why = "truncated string", false;
      if (kind_of(raw) == Kind::kStr)
        stmt.bind_text_copy(index, s);
      else
        stmt.bind_blob_copy(index, s);
      break;
    }
    case Kind::kArray:
    case Kind::kMap: {
      std::string json;
      if (!mp::to_json(raw, json).ok()) return why = "malformed nested value", false;
      stmt.bind_text_copy(index, json);
      break;
    }
    case Kind::kExt:
    case Kind::kBad:
      why = "a msgpack ext or malformed value cannot be stored";
      return false;
  }
  // The statement keeps its first failed bind (for step()); asked here, so
  // the reply names the value at once.
  if (const int rc = stmt.bind_rc(); rc != SQLITE_OK) {
    why = rc == SQLITE_TOOBIG ? "value too big" : sqlite3_errstr(rc);
    return false;
  }
  return true;
}

void pack_column(mp::Packer& pk, const store::Statement& stmt, int col) {
  switch (stmt.column_type(col)) {
    case SQLITE_INTEGER:
      pk.integer(stmt.column_int64(col));
      break;
    case SQLITE_FLOAT:
      pk.real(stmt.column_double(col));
      break;
    case SQLITE_TEXT:
      pk.str(stmt.column_text_view(col));
      break;
    case SQLITE_BLOB: {
      std::string_view b = stmt.column_blob_view(col);
      pk.bin(b.data(), b.size());
      break;
    }
    default:
      pk.nil();
  }
}

bool decode_map(std::string_view raw,
                std::vector<std::pair<std::string_view, std::string_view>>& out) {
  return mp::MapView::parse_into(raw, out).ok();
}

std::string value_text(std::string_view raw, std::string_view null_text) {
  std::string_view s;
  int64_t i;
  double d;
  switch (kind_of(raw)) {
    case Kind::kNil:
      return std::string(null_text);
    case Kind::kBool:
      return raw[0] == '\xc3' ? "true" : "false";
    case Kind::kInt:
      if (mp::decode_int(raw, i)) return fmt::format("{}", i);
      break;
    case Kind::kFloat:
      if (mp::decode_double(raw, d)) return fmt::format("{}", d);
      break;
    case Kind::kStr:
      if (mp::decode_str(raw, s)) return std::string(s);
      break;
    case Kind::kBin:
      if (mp::decode_str(raw, s)) return base64::encode(s);
      break;
    default:
      break;
  }
  std::string json;
  if (!mp::to_json(raw, json).ok()) return "?";
  return json;
}

}  // namespace w::sql
