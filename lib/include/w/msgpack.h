// Small MessagePack primitives: a packer that appends to a string, a
// framer that finds where one object ends, and conversions to and from JSON.
//
// Records travel between programs as msgpack bytes; these functions let the
// stream code split, build and convert them without a DOM. Anything that
// decodes bytes from outside (a pipe, a socket) goes through
// msgpack_object_size() first, which is fuzzed (test/fuzz/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "w/status.h"

namespace w::mp {

/// Appends msgpack values to a caller-owned buffer. Cheap to create.
class Packer {
 public:
  explicit Packer(std::string& out) : out_(out) {}

  void map(uint32_t entries);
  void array(uint32_t items);
  void str(std::string_view s);
  void bin(const void* data, size_t n);
  /// An ext value in its shortest form (fixext for 1, 2, 4, 8, 16 bytes).
  void ext(int8_t type, const void* data, size_t n);
  void integer(int64_t v);
  void uinteger(uint64_t v);
  void real(double v);
  void boolean(bool v) { out_.push_back(v ? '\xc3' : '\xc2'); }
  void nil() { out_.push_back('\xc0'); }
  /// Appends bytes that already are one msgpack object.
  void raw(std::string_view msgpack) { out_.append(msgpack); }

 private:
  void tagged(char tag, uint64_t v, int bytes);  // tag, then v in `bytes` big-endian bytes
  std::string& out_;
};

/// Result of scanning for one object.
enum : long { kNeedMore = 0, kMalformed = -1 };

/// Size in bytes of the first msgpack object in [data, data+n): a positive
/// size, kNeedMore if the bytes end inside it, kMalformed if a byte can
/// never start an object (0xc1). Never reads past n; never recurses.
long object_size(const uint8_t* data, size_t n);

/// True if `bytes` is exactly one well-formed msgpack object.
bool is_one_object(std::string_view bytes);

/// True if the first byte starts a msgpack map.
inline bool starts_map(uint8_t b) {
  return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
}

/// Most JSON text one record may become (to_json's default cap).
constexpr size_t kMaxJsonRecord = 64u << 20;

/// Appends `msgpack` (one object) as JSON text. bin becomes {"$b64":"..."},
/// ext becomes {"$ext":type,"$b64":"..."}, NaN/inf become null, whole
/// doubles keep a ".0" so they read back as doubles. JSON keys are strings:
/// a number, boolean or nil key is written as its text ("1", "true"), a
/// composite key (array, map, bin, ext) as its JSON text in one string, and
/// a composite key inside such a key as "$msgpack:" + base64 of its bytes,
/// so the text is never escaped twice: the output is at most ~16 bytes per
/// input byte. More than `max_bytes` of output is an error ("... larger
/// than N MiB as JSON") and leaves `out` partly written.
Status to_json(std::string_view msgpack, std::string& out, size_t max_bytes = kMaxJsonRecord);

/// Appends the msgpack form of one JSON text. {"$b64":"..."} becomes bin;
/// of a key given twice in one object, the last value counts, at the first
/// one's place. On error `out` is as it was.
Status from_json(std::string_view json, std::string& out);
/// from_json through nlohmann's DOM: what from_json does for the inputs it
/// cannot pack as it reads, and the reference it is tested against.
Status from_json_dom(std::string_view json, std::string& out);

}  // namespace w::mp

namespace w::mp {

/// Zero-copy view of one msgpack map with string keys: each value is kept
/// as its raw bytes, decoded on demand. Protocol messages are read with it,
/// and raw values (datasets, outputs) pass through without re-encoding.
/// The viewed bytes must outlive the view.
class MapView {
 public:
  using Entries = std::vector<std::pair<std::string_view, std::string_view>>;
  /// Fails unless `bytes` is exactly one map whose keys are all strings.
  static Result<MapView> parse(std::string_view bytes);
  /// parse() into `entries` (cleared first; its capacity is reused: a
  /// caller decoding many rows allocates once).
  static Status parse_into(std::string_view bytes, Entries& entries);

  size_t size() const { return entries_.size(); }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  /// The raw msgpack bytes of the value at `key`, or empty if absent.
  std::string_view raw(std::string_view key) const;

  // Typed getters: the value, or `fallback` when the key is absent; an
  // error when present with another type.
  Result<int64_t> integer(std::string_view key, int64_t fallback = 0) const;
  Result<double> number(std::string_view key, double fallback = 0) const;
  Result<bool> boolean(std::string_view key, bool fallback = false) const;
  Result<std::string> string(std::string_view key, std::string fallback = {}) const;
  /// bin or str bytes.
  Result<std::string> bytes(std::string_view key) const;

  const Entries& entries() const { return entries_; }

 private:
  const std::string_view* find(std::string_view key) const;
  Entries entries_;
};

/// Decoders for one raw scalar value.
bool decode_int(std::string_view raw, int64_t& out);
bool decode_double(std::string_view raw, double& out);         ///< ints widen to double
bool decode_str(std::string_view raw, std::string_view& out);  ///< str or bin
/// Element views of a raw array (each element's raw bytes).
bool decode_array(std::string_view raw, std::vector<std::string_view>& out);

/// One value's header, read from the front of checked bytes (see
/// object_size): a scalar whole, a container's header only, its `count`
/// children (maps: key, value, key, ...) following in the bytes.
struct Item {
  enum Kind { kNil, kBool, kUint, kInt, kFloat, kStr, kBin, kExt, kArray, kMap } kind = kNil;
  bool boolean = false;
  uint64_t uint = 0;       ///< kUint
  int64_t sint = 0;        ///< kInt (negative)
  double real = 0;         ///< kFloat (float32 widened)
  std::string_view bytes;  ///< kStr, kBin, kExt payload
  int8_t ext_type = 0;     ///< kExt
  uint32_t count = 0;      ///< kArray elements, kMap entries
};

/// Reads the item at the front of `rest` and advances past what it read.
/// False on bytes that end early or a byte no value starts with (0xc1).
bool read_item(std::string_view& rest, Item& out);

}  // namespace w::mp

namespace w::mp {

/// Builds one msgpack map whose entry count is known only at the end:
///   std::string m = MapBuilder().str("t", "task").integer("id", 7).raw("input", in).done();
class MapBuilder {
 public:
  MapBuilder() = default;
  MapBuilder(const MapBuilder&) = delete;  // packer_ points into body_
  MapBuilder& operator=(const MapBuilder&) = delete;

  MapBuilder& str(std::string_view key, std::string_view value) {
    return key_(key).str(value), ++n_, *this;
  }
  MapBuilder& integer(std::string_view key, int64_t value) {
    return key_(key).integer(value), ++n_, *this;
  }
  MapBuilder& real(std::string_view key, double value) {
    return key_(key).real(value), ++n_, *this;
  }
  MapBuilder& boolean(std::string_view key, bool value) {
    return key_(key).boolean(value), ++n_, *this;
  }
  MapBuilder& bin(std::string_view key, std::string_view value) {
    return key_(key).bin(value.data(), value.size()), ++n_, *this;
  }
  MapBuilder& nil(std::string_view key) { return key_(key).nil(), ++n_, *this; }
  /// A value that already is msgpack (an empty view becomes nil).
  MapBuilder& raw(std::string_view key, std::string_view msgpack) {
    Packer& p = key_(key);
    if (msgpack.empty())
      p.nil();
    else
      p.raw(msgpack);
    ++n_;
    return *this;
  }
  /// The header and body so far, as one map.
  std::string done() const {
    std::string out;
    Packer(out).map(n_);
    out += body_;
    return out;
  }

 private:
  Packer& key_(std::string_view key) {
    packer_.str(key);
    return packer_;
  }
  std::string body_;
  Packer packer_{body_};
  uint32_t n_ = 0;
};

}  // namespace w::mp
