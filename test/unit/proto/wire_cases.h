// Helpers of the proto/ decoder tests: messages written as JSON (with bin
// and huge integers, which JSON lacks, through nlohmann's own types), packed
// as msgpack, and a table of the wrong values every field is tried with.
#pragma once

#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "w/status.h"

namespace w::proto::test {

using Json = nlohmann::json;

inline std::string pack(const Json& j) {
  const std::vector<uint8_t> bytes = Json::to_msgpack(j);
  return std::string(bytes.begin(), bytes.end());
}

inline Json bin(std::vector<uint8_t> bytes) {
  return Json::binary(std::move(bytes));
}

/// A value of each kind a field may wrongly carry, by name.
inline std::vector<std::pair<std::string, Json>> wrong_values() {
  return {{"string", "x"},
          {"int", 7},
          {"float", 1.5},
          {"bool", true},
          {"nil", nullptr},
          {"array", Json::array({1, "a"})},
          {"map", Json::object({{"a", 1}})},
          {"bin", bin({0, 1})},
          {"huge", Json(uint64_t{18446744073709551615ull})},
          {"negative", -5}};
}

/// `base` with the value at `path` ("items/0/error", a JSON pointer without
/// the leading slash) replaced, or removed when `value` is discarded.
inline Json with(Json base, const std::string& path, const Json* value) {
  const Json::json_pointer ptr("/" + path);
  if (value) {
    base[ptr] = *value;
  } else {
    Json& parent = base[ptr.parent_pointer()];
    if (parent.is_array())
      parent.erase(static_cast<size_t>(std::stoul(ptr.back())));
    else
      parent.erase(ptr.back());
  }
  return base;
}

/// One field of a message under test: the kinds of wrong_values() it
/// accepts, whether it is required, and values out of its range.
struct Field {
  std::string path;  ///< "slots", "items/0/error"
  std::vector<std::string> accepts;
  bool required = false;
  std::vector<Json> out_of_range;
};

/// "items/0/error" -> "items[0].error", as errors name fields.
inline std::string field_name(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string part = path.substr(start, slash == std::string::npos ? slash : slash - start);
    if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos)
      out += "[" + part + "]";
    else
      out += (out.empty() ? "" : ".") + part;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

using Decode = std::function<Status(std::string_view)>;

/// The base message decodes; each field with each wrong value, missing
/// (when required) or out of range fails with an error naming
/// "<type>: <field>".
inline void check_fields(const Decode& decode, const std::string& type, const Json& base,
                         const std::vector<Field>& fields) {
  INFO("base " << base.dump(-1, ' ', false, Json::error_handler_t::replace));
  REQUIRE(decode(pack(base)).ok());
  for (const Field& f : fields) {
    const std::string want = type + ": " + field_name(f.path) + ":";
    std::vector<std::pair<std::string, Json>> bad;
    for (auto& [kind, value] : wrong_values())
      if (std::find(f.accepts.begin(), f.accepts.end(), kind) == f.accepts.end())
        bad.emplace_back(kind, value);
    for (const Json& v : f.out_of_range)
      bad.emplace_back("out of range " + v.dump(-1, ' ', false, Json::error_handler_t::replace), v);
    for (auto& [kind, value] : bad) {
      INFO(f.path << " = " << kind);
      const Status s = decode(pack(with(base, f.path, &value)));
      CHECK_FALSE(s.ok());
      CHECK_THAT(s.message(), Catch::Contains(want));
    }
    if (f.required) {
      INFO(f.path << " missing");
      const Status s = decode(pack(with(base, f.path, nullptr)));
      CHECK_FALSE(s.ok());
      CHECK_THAT(s.message(), Catch::Contains(want + " missing"));
    }
  }
}

/// A decoder as a Decode (an overload set cannot be passed as a pointer).
#define W_STATUS_OF(decoder) [](std::string_view bytes) { return decoder(bytes).status(); }

/// Keeps `bytes` for the rest of the run: decoded structs view into the
/// bytes they came from, and decoders refuse a temporary std::string.
inline const std::string& kept(std::string bytes) {
  static std::deque<std::string> store;
  return store.emplace_back(std::move(bytes));
}

}  // namespace w::proto::test
