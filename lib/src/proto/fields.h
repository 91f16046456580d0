// Checked reads of one wire message's fields: the only way lib/src/proto
// looks at bytes from the network.
//
// A decoder makes a Fields over a message's map and asks for each field by
// name with the type and range it must have. The first field that is
// missing (when required), of another type, or out of range stops the
// read; status() then names the message and the field by its path:
//
//   results: items[3].error: expected a string, got an integer
//   hello: slots: 0 is out of range (1 to 4096)
//   open: name: missing
//
// Later reads after an error do nothing, so a decoder reads every field and
// checks ok() once. Absent optional fields leave `out` as it was: a struct's
// defaults are the protocol's defaults.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "w/msgpack.h"
#include "w/status.h"

namespace w::proto {

/// "an integer", "a string", "bin", "a map", ...: what a raw msgpack value
/// is, for error messages ("truncated" for bytes that are not one object).
std::string_view kind_of(std::string_view raw);

/// True if `s` is valid UTF-8 (no overlongs, surrogates or code points past
/// U+10FFFF).
bool valid_utf8(std::string_view s);

/// `s` cut to at most `max_bytes` (never inside a character) with every
/// invalid UTF-8 sequence replaced by U+FFFD: what an encoder does to text
/// it did not write itself (kernel error messages), so that the peer's
/// decoder accepts it.
std::string clean_text(std::string_view s, size_t max_bytes);

/// How a string field's characters are checked.
enum class Text {
  kAny,   ///< any valid UTF-8 (error messages, keys)
  kName,  ///< valid UTF-8 without control characters (ids, names: logs, tables)
  kToken  ///< [A-Za-z0-9._-] only (platforms, group ids)
};

enum class Need { kOptional, kRequired };

class Fields {
 public:
  /// Reads `bytes`, which must be exactly one map with string keys; `type`
  /// names the message in errors, `at` the map's path inside it ("" for
  /// the message itself, "items[3]" for an element).
  Fields(std::string_view bytes, std::string type, std::string at = "");
  /// Element `index` of the array at `key` in `parent` (which must outlive
  /// it); its path is built only for an error, so items cost no strings.
  Fields(std::string_view bytes, const Fields& parent, std::string_view key, size_t index);

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  bool has(std::string_view key) const { return ok() && map_.has(key); }

  /// A string of at most `max_bytes` (not bin).
  void text(std::string_view key, std::string& out, size_t max_bytes, Text check = Text::kAny,
            Need need = Need::kOptional);
  /// An integer within [min, max].
  void integer(std::string_view key, int64_t& out, int64_t min, int64_t max,
               Need need = Need::kOptional);
  void integer(std::string_view key, int& out, int min, int max, Need need = Need::kOptional);
  /// An integer or a float, finite, within [min, max].
  void number(std::string_view key, double& out, double min, double max,
              Need need = Need::kOptional);
  void boolean(std::string_view key, bool& out, Need need = Need::kOptional);
  /// bin (not a string): a view into the message.
  void bin(std::string_view key, std::string_view& out, Need need = Need::kOptional);
  /// Any one msgpack value, as its raw bytes (datasets, outputs).
  void any(std::string_view key, std::string_view& out, Need need = Need::kOptional);
  /// An array of at most `max_items`: each element's raw bytes.
  void array(std::string_view key, std::vector<std::string_view>& out, size_t max_items,
             Need need = Need::kOptional);
  /// An array of integers within [min, max].
  void integers(std::string_view key, std::vector<int64_t>& out, size_t max_items, int64_t min,
                int64_t max, Need need = Need::kOptional);

  /// Fails the read at `key` with `why`, for checks across fields
  /// ("quorum: 3 is more than replicas (2)"). Does nothing after an error.
  void fail(std::string_view key, std::string_view why);

  /// The message type errors name; set_type() renames it once `t` is known.
  const std::string& type() const { return parent_ ? parent_->type() : type_; }
  void set_type(std::string type) { type_ = std::move(type); }
  /// This map's path in the message: "" for the message, "items[3]", ...
  std::string at() const;

 private:
  // The raw value at `key`, or empty (after an error if required) when absent.
  std::string_view find(std::string_view key, Need need);
  void wrong(std::string_view key, std::string_view expected, std::string_view raw);

  void parse(std::string_view bytes);

  mp::MapView map_;
  std::string type_, at_;
  const Fields* parent_ = nullptr;  // set for an array's element
  std::string_view key_;            // ... the array's key in parent_
  size_t index_ = 0;                // ... and the element's index
  Status status_;
};

// Helpers of the message decoders (worker_messages.cc, client_messages.cc).

/// Reads `t` (required, a token); with `rename`, names the message after it
/// in the errors that follow.
std::string read_type(Fields& f, bool rename = true);

/// Reads a sha256 (64 lowercase hex digits) at `key`.
void read_sha(Fields& f, std::string_view key, std::string& out, Need need);

/// `value` if every read went well, else the first error.
template <class T>
Result<T> finish(const Fields& f, T value) {
  if (!f.ok()) return f.status();
  return value;
}

/// Decodes `bytes`, which must be a message of type `want`, with `decode`
/// (a decoder of the fields after `t`).
template <class T>
Result<T> decode_as(std::string_view bytes, std::string_view want, Result<T> (*decode)(Fields&)) {
  Fields f(bytes, std::string(want));
  const std::string t = read_type(f, false);
  if (f.ok() && t != want) f.fail("t", "expected '" + std::string(want) + "', got '" + t + "'");
  if (!f.ok()) return f.status();
  return decode(f);
}

/// A decoded message as the variant of its direction.
template <class Variant, class T>
Result<Variant> widen(Result<T>&& r) {
  if (!r.ok()) return r.status();
  return Variant(std::move(*r));
}

}  // namespace w::proto
