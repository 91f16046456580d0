// The fast path of from_json (json_flat.h). It accepts a strict subset of
// JSON and gives up on the first thing outside it, so what it packs is
// what nlohmann packs: stream_fuzz checks from_json against the DOM.
#include "json_flat.h"

#include <cstdint>

#include "w/msgpack.h"

namespace w::mp {
namespace {

constexpr uint32_t kMaxKeys = 64;  // duplicate keys are sought linearly

class FlatScanner {
 public:
  explicit FlatScanner(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool eat(char c) {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool at_end() {
    skip_space();
    return p_ == end_;
  }
  bool peek(char c) {
    skip_space();
    return p_ < end_ && *p_ == c;
  }
  // A string of printable ASCII without escapes; p_ past its closing quote.
  bool plain_string(std::string_view& s) {
    if (!eat('"')) return false;
    const char* start = p_;
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        s = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x80 || c == '\\') return false;
      ++p_;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }
  // An integer as JSON writes one: -?(0|[1-9][0-9]*), not followed by a
  // fraction or exponent (those are floats: the caller gives up).
  bool integer(Packer& pk) {
    const bool negative = p_ < end_ && *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0' && p_ + 1 < end_ && p_[1] >= '0' && p_[1] <= '9') return false;
    uint64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      const auto d = static_cast<uint64_t>(*p_ - '0');
      if (v > (UINT64_MAX - d) / 10) return false;  // past 64 bits: nlohmann makes a float
      v = v * 10 + d;
      ++p_;
    }
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    if (!negative) {
      pk.uinteger(v);
    } else {
      if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
      pk.integer(v == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(v));
    }
    return true;
  }
  bool value(Packer& pk) {
    skip_space();
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': {
        std::string_view s;
        if (!plain_string(s)) return false;
        pk.str(s);
        return true;
      }
      case 't':
        return literal("true") && (pk.boolean(true), true);
      case 'f':
        return literal("false") && (pk.boolean(false), true);
      case 'n':
        return literal("null") && (pk.nil(), true);
      default:
        return integer(pk);
    }
  }

 private:
  const char* p_;
  const char* end_;
};

bool pack_into(std::string_view json, std::string& out) {
  FlatScanner in(json);
  if (!in.eat('{')) return false;
  // Room for a map16 header; the shortest is written once the count is known.
  const size_t head = out.size();
  out.append("\xde\0\0", 3);
  Packer pk(out);
  std::string_view keys[kMaxKeys];
  uint32_t n = 0;
  if (!in.eat('}')) {
    do {
      std::string_view key;
      if (n == kMaxKeys || !in.plain_string(key) || key == "$b64") return false;
      for (uint32_t i = 0; i < n; ++i)
        if (keys[i] == key) return false;  // the DOM keeps the last value, at the first place
      keys[n++] = key;
      if (!in.eat(':')) return false;
      pk.str(key);
      if (!in.value(pk)) return false;
    } while (in.eat(','));
    if (!in.eat('}')) return false;
  }
  if (!in.at_end()) return false;
  if (n < 16) {
    out[head] = static_cast<char>(0x80 | n);
    out.erase(head + 1, 2);
  } else {
    out[head + 1] = static_cast<char>(n >> 8);
    out[head + 2] = static_cast<char>(n & 0xff);
  }
  return true;
}

}  // namespace

bool pack_flat_object(std::string_view json, std::string& out) {
  const size_t at = out.size();
  if (pack_into(json, out)) return true;
  out.resize(at);
  return false;
}

}  // namespace w::mp
