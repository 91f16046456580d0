// A validating single-pass JSON scanner that keeps raw spans (see message.h).
//
// Nothing is built but the few top-level strings wsig reads; values are
// checked and skipped. Strings are decoded only when a field needs them, and
// then only if they contain escapes.
#include "message.h"

#include <array>
#include <cstring>

namespace w::sig {
namespace {

constexpr std::array<std::string_view, 15> kNames = {
    "",           "HEARTBEAT",    "OFFER",       "ANSWER",      "CANDIDATE",     "LEAVE",
    "EXPIRE",     "GROUP-CREATE", "GROUP-JOIN",  "GROUP-LEAVE", "GROUP-MEMBERS", "GROUP-DELETE",
    "RELAY-OPEN", "RELAY-ACK",    "RELAY-CLOSE",
};

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void skip_ws() {
    while (p_ < end_ && is_ws(*p_)) ++p_;
  }
  bool at_end() const { return p_ == end_; }
  bool eat(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  const char* pos() const { return p_; }

  // A string at p_. Sets `raw` to the bytes between the quotes and
  // `escaped` if any backslash occurs.
  bool string(std::string_view& raw, bool& escaped);
  bool value(int depth);
  // A number; `integer` gets its value if it is a plain non-negative integer
  // below 2^53, else -1.
  bool number(int64_t& integer);

 private:
  bool utf8_tail();
  bool escape();
  bool object(int depth);
  bool array(int depth);
  bool literal(std::string_view word);

  const char* p_;
  const char* end_;
};

// One multi-byte UTF-8 sequence at p_ (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF).
bool Scanner::utf8_tail() {
  const auto b0 = static_cast<unsigned char>(*p_);
  int n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return false;
  }
  if (end_ - p_ <= n) return false;
  for (int i = 1; i <= n; ++i) {
    const auto b = static_cast<unsigned char>(p_[i]);
    if (b < lo || b > hi) return false;
    lo = 0x80;
    hi = 0xBF;
  }
  p_ += n + 1;
  return true;
}

bool Scanner::escape() {
  // p_ is just past the backslash.
  if (p_ == end_) return false;
  const char c = *p_++;
  if (std::strchr("\"\\/bfnrt", c) && c != '\0') return true;
  if (c != 'u' || end_ - p_ < 4) return false;
  for (int i = 0; i < 4; ++i)
    if (hex_value(p_[i]) < 0) return false;
  p_ += 4;
  return true;
}

bool Scanner::string(std::string_view& raw, bool& escaped) {
  if (!eat('"')) return false;
  const char* start = p_;
  escaped = false;
  while (p_ < end_) {
    const auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      raw = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    if (c < 0x20) return false;
    if (c == '\\') {
      escaped = true;
      ++p_;
      if (!escape()) return false;
    } else if (c < 0x80) {
      ++p_;
    } else if (!utf8_tail()) {
      return false;
    }
  }
  return false;
}

bool Scanner::number(int64_t& integer) {
  integer = -1;
  const char* start = p_;
  bool negative = eat('-');
  if (p_ == end_ || !is_digit(*p_)) return false;
  if (*p_ == '0') {
    ++p_;
  } else {
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  bool plain = !negative;
  if (eat('.')) {
    plain = false;
    if (p_ == end_ || !is_digit(*p_)) return false;
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    plain = false;
    ++p_;
    if (!eat('+')) eat('-');
    if (p_ == end_ || !is_digit(*p_)) return false;
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  if (plain && p_ - start <= 15) {
    int64_t v = 0;
    for (const char* q = start; q < p_; ++q) v = v * 10 + (*q - '0');
    integer = v;
  }
  return true;
}

bool Scanner::literal(std::string_view word) {
  if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
    return false;
  p_ += word.size();
  return true;
}

bool Scanner::value(int depth) {
  std::string_view raw;
  bool escaped;
  int64_t integer;
  switch (peek()) {
    case '{':
      return object(depth + 1);
    case '[':
      return array(depth + 1);
    case '"':
      return string(raw, escaped);
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    default:
      return number(integer);
  }
}

bool Scanner::object(int depth) {
  if (depth > kMaxDepth || !eat('{')) return false;
  skip_ws();
  if (eat('}')) return true;
  while (true) {
    std::string_view key;
    bool escaped;
    if (!string(key, escaped)) return false;
    skip_ws();
    if (!eat(':')) return false;
    skip_ws();
    if (!value(depth)) return false;
    skip_ws();
    if (eat('}')) return true;
    if (!eat(',')) return false;
    skip_ws();
  }
}

bool Scanner::array(int depth) {
  if (depth > kMaxDepth || !eat('[')) return false;
  skip_ws();
  if (eat(']')) return true;
  while (true) {
    if (!value(depth)) return false;
    skip_ws();
    if (eat(']')) return true;
    if (!eat(',')) return false;
    skip_ws();
  }
}

// Resolves the escapes of a string already validated by Scanner::string.
std::string decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    const char c = raw[++i];
    switch (c) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        auto hex4 = [&](size_t at) {
          uint32_t v = 0;
          for (size_t k = 0; k < 4; ++k) v = v * 16 + static_cast<uint32_t>(hex_value(raw[at + k]));
          return v;
        };
        uint32_t cp = hex4(i + 1);
        i += 4;
        // A high surrogate followed by an escaped low one is one code point.
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < raw.size() && raw[i + 1] == '\\' &&
            raw[i + 2] == 'u') {
          uint32_t low = hex4(i + 3);
          if (low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, cp);
        break;
      }
      default:
        out += c;
        break;  // " \ /
    }
  }
  return out;
}

std::string text_of(std::string_view raw, bool escaped) {
  return escaped ? decode(raw) : std::string(raw);
}

// Stores one top-level member in `out` if wsig reads it. The value was
// validated; [start, end) are its bytes.
void keep_field(std::string_view key, Scanner& s, const char* start, Message& out) {
  const std::string_view value(start, static_cast<size_t>(s.pos() - start));
  const bool is_string = value.size() >= 2 && value.front() == '"';
  std::string_view inner = is_string ? value.substr(1, value.size() - 2) : std::string_view();
  const bool escaped = is_string && inner.find('\\') != std::string_view::npos;
  if (key == "payload") {
    out.has_payload = true;
    out.payload = value;
  } else if (key == "type") {
    out.type = is_string ? type_from_name(text_of(inner, escaped)) : Type::kUnknown;
  } else if (key == "dst") {
    out.has_dst = is_string;
    out.dst = is_string ? text_of(inner, escaped) : std::string();
  } else if (key == "group") {
    out.group = is_string ? text_of(inner, escaped) : std::string();
  } else if (key == "cap") {
    out.cap = is_string ? text_of(inner, escaped) : std::string();
  } else if (key == "bytes") {
    Scanner n(value);
    int64_t v = -1;
    out.bytes = (!value.empty() && value[0] != '-' && n.number(v) && n.at_end()) ? v : -1;
  }
}

}  // namespace

std::string_view type_name(Type type) {
  return kNames[static_cast<size_t>(type)];
}

Type type_from_name(std::string_view name) {
  for (size_t i = 1; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Type>(i);
  return Type::kUnknown;
}

bool parse_message(std::string_view text, Message& out) {
  out = Message();
  Scanner s(text);
  s.skip_ws();
  if (!s.eat('{')) return false;
  s.skip_ws();
  if (!s.eat('}')) {
    while (true) {
      std::string_view raw_key;
      bool escaped;
      if (!s.string(raw_key, escaped)) return false;
      s.skip_ws();
      if (!s.eat(':')) return false;
      s.skip_ws();
      const char* start = s.pos();
      if (!s.value(1)) return false;
      if (escaped)
        keep_field(decode(raw_key), s, start, out);
      else
        keep_field(raw_key, s, start, out);
      s.skip_ws();
      if (s.eat('}')) break;
      if (!s.eat(',')) return false;
      s.skip_ws();
    }
  }
  s.skip_ws();
  return s.at_end();
}

bool valid_json(std::string_view text) {
  Scanner s(text);
  s.skip_ws();
  if (!s.value(0)) return false;
  s.skip_ws();
  return s.at_end();
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string build_message(std::string_view type, std::string_view src, std::string_view dst,
                          std::string_view payload) {
  std::string out;
  out.reserve(48 + type.size() + src.size() + dst.size() + payload.size());
  out += "{\"type\":\"";
  out += type;
  out += '"';
  if (!src.empty()) {
    out += ",\"src\":";
    append_json_string(out, src);
  }
  if (!dst.empty()) {
    out += ",\"dst\":";
    append_json_string(out, dst);
  }
  if (!payload.empty()) {
    out += ",\"payload\":";
    out += payload;
  }
  out += '}';
  return out;
}

std::string build_notice(std::string_view type, std::string_view msg) {
  std::string payload = "{\"msg\":";
  append_json_string(payload, msg);
  payload += '}';
  return build_message(type, {}, {}, payload);
}

}  // namespace w::sig
