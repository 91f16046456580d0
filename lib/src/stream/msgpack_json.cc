// MessagePack <-> JSON for the JSON Lines side of every stream.
//
// to_json walks msgpack bytes directly (no DOM) because it sits on the output
// path of wgen and wrun. from_json packs while nlohmann's parser reads (its
// SAX interface): building the DOM and freeing it was half the time of
// `wsql insert` from JSON Lines. What the packer cannot decide alone (a
// duplicate key, a parse error, nesting past the limit) is done again
// through the DOM, so every input ends exactly as it always did.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "json_flat.h"
#include "w/base64.h"
#include "w/msgpack.h"

namespace w::mp {
namespace {

constexpr int kMaxDepth = 256;

class JsonEmitter {
 public:
  /// `in_key`: this emitter writes the text of a composite map key, whose
  /// own composite keys must not be escaped a second time (see map()).
  JsonEmitter(const uint8_t* p, size_t n, std::string& out, size_t max_bytes, bool in_key = false)
      : p_(p),
        end_(p + n),
        out_(out),
        max_(max_bytes),
        limit_(out.size() + max_bytes),
        in_key_(in_key) {}

  Status emit(int depth) {
    if (depth > kMaxDepth) return Status::Invalid("msgpack nested deeper than 256 levels");
    if (out_.size() > limit_) return too_large();
    uint8_t b;
    if (!take(b)) return truncated();
    if (b <= 0x7f) return integer(b);
    if (b >= 0xe0) return integer(static_cast<int8_t>(b));
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f, depth);
    if (b >= 0x90 && b <= 0x9f) return array(b & 0x0f, depth);
    if (b >= 0xa0 && b <= 0xbf) return string(b & 0x1f);
    uint64_t v;
    switch (b) {
      case 0xc0:
        out_ += "null";
        return {};
      case 0xc2:
        out_ += "false";
        return {};
      case 0xc3:
        out_ += "true";
        return {};
      case 0xc4:
        return sized(1, v) ? bin(v) : truncated();
      case 0xc5:
        return sized(2, v) ? bin(v) : truncated();
      case 0xc6:
        return sized(4, v) ? bin(v) : truncated();
      case 0xc7:
        return sized(1, v) ? ext(v) : truncated();
      case 0xc8:
        return sized(2, v) ? ext(v) : truncated();
      case 0xc9:
        return sized(4, v) ? ext(v) : truncated();
      case 0xca: {
        if (!sized(4, v)) return truncated();
        uint32_t bits = static_cast<uint32_t>(v);
        float f;
        std::memcpy(&f, &bits, 4);
        return real(f);
      }
      case 0xcb: {
        if (!sized(8, v)) return truncated();
        double d;
        std::memcpy(&d, &v, 8);
        return real(d);
      }
      case 0xcc:
        return sized(1, v) ? uinteger(v) : truncated();
      case 0xcd:
        return sized(2, v) ? uinteger(v) : truncated();
      case 0xce:
        return sized(4, v) ? uinteger(v) : truncated();
      case 0xcf:
        return sized(8, v) ? uinteger(v) : truncated();
      case 0xd0:
        return sized(1, v) ? integer(static_cast<int8_t>(v)) : truncated();
      case 0xd1:
        return sized(2, v) ? integer(static_cast<int16_t>(v)) : truncated();
      case 0xd2:
        return sized(4, v) ? integer(static_cast<int32_t>(v)) : truncated();
      case 0xd3:
        return sized(8, v) ? integer(static_cast<int64_t>(v)) : truncated();
      case 0xd4:
        return ext(1);
      case 0xd5:
        return ext(2);
      case 0xd6:
        return ext(4);
      case 0xd7:
        return ext(8);
      case 0xd8:
        return ext(16);
      case 0xd9:
        return sized(1, v) ? string(v) : truncated();
      case 0xda:
        return sized(2, v) ? string(v) : truncated();
      case 0xdb:
        return sized(4, v) ? string(v) : truncated();
      case 0xdc:
        return sized(2, v) ? array(v, depth) : truncated();
      case 0xdd:
        return sized(4, v) ? array(v, depth) : truncated();
      case 0xde:
        return sized(2, v) ? map(v, depth) : truncated();
      case 0xdf:
        return sized(4, v) ? map(v, depth) : truncated();
      default:
        return Status::Invalid("malformed msgpack: byte 0xc1");
    }
  }

  bool at_end() const { return p_ == end_; }
  /// Checked once more at the end: the last value may have passed the cap.
  Status check_size() const { return out_.size() > limit_ ? too_large() : Status(); }

 private:
  static Status truncated() { return Status::Invalid("truncated msgpack"); }
  Status too_large() const {
    const std::string cap =
        max_ >= (1u << 20) ? fmt::format("{} MiB", max_ >> 20) : fmt::format("{} bytes", max_);
    return Status::Invalid(fmt::format("record larger than {} as JSON (use -f msgpack)", cap));
  }

  bool take(uint8_t& b) {
    if (p_ == end_) return false;
    b = *p_++;
    return true;
  }
  bool sized(int bytes, uint64_t& v) {
    if (end_ - p_ < bytes) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | *p_++;
    return true;
  }
  Status integer(int64_t v) {
    fmt::format_to(std::back_inserter(out_), "{}", v);
    return {};
  }
  Status uinteger(uint64_t v) {
    fmt::format_to(std::back_inserter(out_), "{}", v);
    return {};
  }
  Status real(double d) {
    if (!std::isfinite(d)) {
      out_ += "null";
      return {};
    }
    size_t start = out_.size();
    fmt::format_to(std::back_inserter(out_), "{}", d);
    if (out_.find_first_of(".e", start) == std::string::npos) out_ += ".0";
    return {};
  }
  Status string(uint64_t n) {
    if (static_cast<uint64_t>(end_ - p_) < n) return truncated();
    append_escaped(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return {};
  }
  void append_escaped(const char* s, size_t n) {
    out_.push_back('"');
    for (size_t i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            fmt::format_to(std::back_inserter(out_), "\\u{:04x}", c);
          } else {
            out_.push_back(static_cast<char>(c));
          }
      }
    }
    out_.push_back('"');
  }
  Status bin(uint64_t n) {
    if (static_cast<uint64_t>(end_ - p_) < n) return truncated();
    out_ += "{\"$b64\":\"";
    out_ += base64::encode({reinterpret_cast<const char*>(p_), static_cast<size_t>(n)});
    out_ += "\"}";
    p_ += n;
    return {};
  }
  Status ext(uint64_t n) {
    uint8_t type;
    if (!take(type)) return truncated();
    if (static_cast<uint64_t>(end_ - p_) < n) return truncated();
    fmt::format_to(std::back_inserter(out_), "{{\"$ext\":{},\"$b64\":\"",
                   static_cast<int8_t>(type));
    out_ += base64::encode({reinterpret_cast<const char*>(p_), static_cast<size_t>(n)});
    out_ += "\"}";
    p_ += n;
    return {};
  }
  Status array(uint64_t n, int depth) {
    out_.push_back('[');
    for (uint64_t i = 0; i < n; ++i) {
      if (i) out_.push_back(',');
      W_RETURN_IF_ERROR(emit(depth + 1));
    }
    out_.push_back(']');
    return {};
  }
  Status map(uint64_t n, int depth) {
    out_.push_back('{');
    for (uint64_t i = 0; i < n; ++i) {
      if (i) out_.push_back(',');
      W_RETURN_IF_ERROR(key(depth + 1));
      out_.push_back(':');
      W_RETURN_IF_ERROR(emit(depth + 1));
    }
    out_.push_back('}');
    return {};
  }

  // JSON keys are strings. A string key is written as is; a scalar one as
  // its text, quoted; a composite one as its JSON text, escaped into one
  // string. Escaping roughly doubles a text, so a key inside such a key
  // (in_key_) is not escaped again but written as "$msgpack:" + base64 of
  // its bytes: each level of nesting used to double the size (a 57-byte
  // output became gigabytes).
  Status key(int depth) {
    if (p_ == end_) return truncated();
    const uint8_t b = *p_;
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) return emit(depth);
    const bool composite = (b >= 0x80 && b <= 0x9f) || (b >= 0xc4 && b <= 0xc9) ||
                           (b >= 0xd4 && b <= 0xd8) || (b >= 0xdc && b <= 0xdf);
    if (composite && in_key_) {
      const long size = object_size(p_, static_cast<size_t>(end_ - p_));
      if (size <= 0) return truncated();
      out_ += "\"$msgpack:";
      out_ += base64::encode({reinterpret_cast<const char*>(p_), static_cast<size_t>(size)});
      out_ += '"';
      p_ += size;
      return {};
    }
    std::string text;
    JsonEmitter sub(p_, static_cast<size_t>(end_ - p_), text,
                    limit_ - std::min(limit_, out_.size()), true);
    W_RETURN_IF_ERROR(sub.emit(depth));
    W_RETURN_IF_ERROR(sub.check_size());
    p_ = sub.p_;
    append_escaped(text.data(), text.size());
    return {};
  }

  const uint8_t* p_;
  const uint8_t* end_;
  std::string& out_;
  size_t max_;    // the caller's cap, for the message
  size_t limit_;  // out_'s size at which the cap is passed
  bool in_key_;
};

Status pack_json(const nlohmann::ordered_json& j, Packer& pk, int depth) {
  using T = nlohmann::ordered_json::value_t;
  if (depth > kMaxDepth) return Status::Invalid("JSON nested deeper than 256 levels");
  switch (j.type()) {
    case T::null:
      pk.nil();
      return {};
    case T::boolean:
      pk.boolean(j.get<bool>());
      return {};
    case T::number_integer:
      pk.integer(j.get<int64_t>());
      return {};
    case T::number_unsigned:
      pk.uinteger(j.get<uint64_t>());
      return {};
    case T::number_float:
      pk.real(j.get<double>());
      return {};
    case T::string:
      pk.str(j.get_ref<const std::string&>());
      return {};
    case T::binary:
      pk.bin(j.get_binary().data(), j.get_binary().size());
      return {};
    case T::array:
      pk.array(static_cast<uint32_t>(j.size()));
      for (const auto& item : j) W_RETURN_IF_ERROR(pack_json(item, pk, depth + 1));
      return {};
    case T::object: {
      if (j.size() == 1 && j.begin().key() == "$b64" && j.begin()->is_string()) {
        auto bytes = base64::decode(j.begin()->get_ref<const std::string&>());
        if (!bytes.ok()) return bytes.status();
        pk.bin(bytes->data(), bytes->size());
        return {};
      }
      pk.map(static_cast<uint32_t>(j.size()));
      for (auto it = j.begin(); it != j.end(); ++it) {
        pk.str(it.key());
        W_RETURN_IF_ERROR(pack_json(*it, pk, depth + 1));
      }
      return {};
    }
    case T::discarded:
      return Status::Invalid("invalid JSON");
  }
  return Status::Internal("unknown JSON type");
}

// nlohmann's SAX events, packed as they come. A container is opened with a
// 5-byte header (map32/array32) and given its shortest one when it closes,
// so the bytes are those pack_json writes for the same document.
class SaxPacker {
 public:
  using number_integer_t = int64_t;
  using number_unsigned_t = uint64_t;
  using number_float_t = double;
  using string_t = std::string;
  using binary_t = nlohmann::ordered_json::binary_t;

  explicit SaxPacker(std::string& out) : out_(out), pk_(out) {}

  /// Why the events stopped: kRedo means "ask the DOM" (a duplicate key,
  /// nesting past kMaxDepth, a parse error, a bad $b64).
  bool redo() const { return redo_; }

  bool null() { return value() && (pk_.nil(), true); }
  bool boolean(bool v) { return value() && (pk_.boolean(v), true); }
  bool number_integer(int64_t v) { return value() && (pk_.integer(v), true); }
  bool number_unsigned(uint64_t v) { return value() && (pk_.uinteger(v), true); }
  bool number_float(double v, const std::string&) { return value() && (pk_.real(v), true); }
  bool string(std::string& v) { return value() && (pk_.str(v), true); }
  bool binary(binary_t&) { return stop(); }  // JSON text has none
  bool start_object(size_t) { return open(true); }
  bool start_array(size_t) { return open(false); }
  bool key(std::string& k) {
    Open& o = open_.back();
    if (o.count < kLinearKeys) {
      for (uint32_t i = 0; i < o.count; ++i)
        if (keys_[o.first_key + i] == k) return stop();  // the DOM keeps the last value
    }
    keys_.push_back(k);
    ++o.count;
    pk_.str(k);
    o.value_at = out_.size();
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) {
    return stop();
  }

 private:
  static constexpr uint32_t kLinearKeys = 16;  // past this, duplicates are sought at the end

  struct Open {
    size_t start;      // where its 5-byte header is
    size_t first_key;  // its first key in keys_
    size_t value_at;   // where the last key's value starts
    uint32_t count;    // entries (objects) or items (arrays)
    bool object;
  };

  bool stop() {
    redo_ = true;
    return false;
  }
  // A value (or a container) begins: an array counts it; past kMaxDepth the
  // DOM path says so.
  bool value() {
    if (open_.size() > static_cast<size_t>(kMaxDepth)) return stop();
    if (!open_.empty() && !open_.back().object) ++open_.back().count;
    return true;
  }
  bool open(bool object) {
    if (!value()) return false;
    open_.push_back({out_.size(), keys_.size(), 0, 0, object});
    out_.append(object ? "\xdf\0\0\0\0" : "\xdd\0\0\0\0", 5);
    return true;
  }
  bool close() {
    const Open o = open_.back();
    open_.pop_back();
    if (o.object) {
      if (o.count >= kLinearKeys) {
        std::vector<std::string_view> sorted(
            keys_.begin() + static_cast<std::ptrdiff_t>(o.first_key), keys_.end());
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return stop();
      }
      const bool b64 = o.count == 1 && keys_[o.first_key] == "$b64";
      keys_.resize(o.first_key);
      if (b64) {
        std::string_view v(out_.data() + o.value_at, out_.size() - o.value_at);
        std::string_view text;
        if (str_of(v, text)) {
          auto bytes = base64::decode(text);
          if (!bytes.ok()) return stop();
          out_.resize(o.start);
          pk_.bin(bytes->data(), bytes->size());
          return true;
        }
      }
    }
    // The shortest header for the count, then the contents moved up to it.
    char head[5];
    size_t n;
    const uint32_t c = o.count;
    if (c < 16) {
      head[0] = static_cast<char>((o.object ? 0x80 : 0x90) | c);
      n = 1;
    } else if (c < 65536) {
      head[0] = o.object ? '\xde' : '\xdc';
      head[1] = static_cast<char>(c >> 8), head[2] = static_cast<char>(c);
      n = 3;
    } else {
      head[0] = o.object ? '\xdf' : '\xdd';
      for (int i = 0; i < 4; ++i) head[1 + i] = static_cast<char>(c >> (24 - 8 * i));
      n = 5;
    }
    if (n < 5) {
      out_.erase(o.start + n, 5 - n);
    }
    std::memcpy(out_.data() + o.start, head, n);
    return true;
  }
  // The string a msgpack str at the start of `v` holds.
  static bool str_of(std::string_view v, std::string_view& text) {
    if (v.empty()) return false;
    const auto b = static_cast<uint8_t>(v[0]);
    size_t len, head;
    if ((b & 0xe0) == 0xa0) {
      len = b & 0x1f, head = 1;
    } else if (b == 0xd9 && v.size() >= 2) {
      len = static_cast<uint8_t>(v[1]), head = 2;
    } else if (b == 0xda && v.size() >= 3) {
      len = static_cast<size_t>(static_cast<uint8_t>(v[1])) << 8 | static_cast<uint8_t>(v[2]);
      head = 3;
    } else if (b == 0xdb && v.size() >= 5) {
      len = 0;
      for (int i = 1; i <= 4; ++i) len = len << 8 | static_cast<uint8_t>(v[static_cast<size_t>(i)]);
      head = 5;
    } else {
      return false;
    }
    if (v.size() != head + len) return false;
    text = v.substr(head);
    return true;
  }

  std::string& out_;
  Packer pk_;
  std::vector<Open> open_;
  std::vector<std::string> keys_;  // of the open objects, in order
  bool redo_ = false;
};

}  // namespace

Status to_json(std::string_view msgpack, std::string& out, size_t max_bytes) {
  JsonEmitter emitter(reinterpret_cast<const uint8_t*>(msgpack.data()), msgpack.size(), out,
                      max_bytes);
  W_RETURN_IF_ERROR(emitter.emit(0));
  W_RETURN_IF_ERROR(emitter.check_size());
  if (!emitter.at_end()) return Status::Invalid("trailing bytes after msgpack object");
  return {};
}

Status from_json(std::string_view json, std::string& out) {
  if (pack_flat_object(json, out)) return {};
  const size_t at = out.size();
  SaxPacker sax(out);
  if (nlohmann::ordered_json::sax_parse(json.begin(), json.end(), &sax)) return {};
  out.resize(at);  // what the packer wrote: the DOM decides this one
  return from_json_dom(json, out);
}

Status from_json_dom(std::string_view json, std::string& out) {
  const size_t at = out.size();
  // Keeps object keys in document order so a record round-trips unchanged.
  nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded()) return Status::Invalid("invalid JSON");
  Packer pk(out);
  Status s = pack_json(j, pk, 0);
  if (!s.ok()) out.resize(at);
  return s;
}

}  // namespace w::mp
