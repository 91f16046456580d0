#include "w/msgpack.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../../../lib/src/stream/json_flat.h"

using w::mp::Packer;

namespace {
// from_json (which packs as it reads, or takes the flat fast path) gives
// the DOM's bytes and errors, and leaves nothing behind on an error.
void check_like_dom(const std::string& in) {
  std::string sax = "prefix", dom = "prefix";
  const w::Status a = w::mp::from_json(in, sax);
  const w::Status b = w::mp::from_json_dom(in, dom);
  INFO(in.substr(0, 80));
  CHECK(a.ok() == b.ok());
  CHECK(a.message() == b.message());
  CHECK(sax == dom);
  if (!a.ok()) CHECK(sax == "prefix");
}

std::string roundtrip_json(std::string_view json) {
  std::string mp;
  REQUIRE(w::mp::from_json(json, mp).ok());
  std::string out;
  REQUIRE(w::mp::to_json(mp, out).ok());
  return out;
}
}  // namespace

TEST_CASE("object_size finds the end of nested objects") {
  // A map with an array and a string, followed by a second object.
  std::string buf;
  Packer pk(buf);
  pk.map(2);
  pk.str("a");
  pk.array(3);
  pk.integer(1);
  pk.integer(-200);
  pk.real(2.5);
  pk.str("b");
  pk.str(std::string(300, 'x'));
  const size_t first = buf.size();
  pk.nil();
  auto* p = reinterpret_cast<const uint8_t*>(buf.data());
  CHECK(w::mp::object_size(p, buf.size()) == static_cast<long>(first));
  for (size_t cut = 0; cut < first; ++cut) CHECK(w::mp::object_size(p, cut) == w::mp::kNeedMore);
}

TEST_CASE("object_size rejects the never-used byte 0xc1") {
  // 0xc1 can never start an object.
  const uint8_t bad[] = {0x81, 0xa1, 'a', 0xc1};
  CHECK(w::mp::object_size(bad, sizeof bad) == w::mp::kMalformed);
}

TEST_CASE("integers pack in their smallest form and read back") {
  // Boundaries of every integer width survive msgpack -> JSON.
  for (long long v : {0LL, 127LL, 128LL, 255LL, 256LL, 65535LL, 65536LL, 4294967296LL, -1LL, -32LL,
                      -33LL, -128LL, -129LL, -32768LL, -32769LL, -2147483648LL, -2147483649LL}) {
    std::string buf;
    Packer(buf).integer(v);
    std::string json;
    REQUIRE(w::mp::to_json(buf, json).ok());
    CHECK(json == std::to_string(v));
  }
}

TEST_CASE("JSON round-trips through msgpack keeping key order and types") {
  // Key order, doubles that are whole numbers, escapes and nesting survive.
  CHECK(roundtrip_json(R"({"min":0,"max":100})") == R"({"min":0,"max":100})");
  CHECK(roundtrip_json(R"({"x":1.0,"y":0.1,"z":-2.5e-10})") == R"({"x":1.0,"y":0.1,"z":-2.5e-10})");
  CHECK(roundtrip_json(R"({"s":"a\"b\\c\nd\u0001"})") == R"({"s":"a\"b\\c\nd\u0001"})");
  CHECK(roundtrip_json(R"({"a":[1,[2,{"b":null}],true,false]})") ==
        R"({"a":[1,[2,{"b":null}],true,false]})");
  CHECK(roundtrip_json(R"({"big":18446744073709551615,"neg":-9223372036854775808})") ==
        R"({"big":18446744073709551615,"neg":-9223372036854775808})");
}

TEST_CASE("bytes travel as msgpack bin and as {\"$b64\"} in JSON") {
  // {"$b64": ...} becomes bin, and bin comes back as {"$b64": ...}.
  std::string mp;
  REQUIRE(w::mp::from_json(R"({"data":{"$b64":"AAEC/w=="}})", mp).ok());
  std::string expect;
  Packer pk(expect);
  pk.map(1);
  pk.str("data");
  const unsigned char bytes[] = {0, 1, 2, 255};
  pk.bin(bytes, 4);
  CHECK(mp == expect);
  std::string json;
  REQUIRE(w::mp::to_json(mp, json).ok());
  CHECK(json == R"({"data":{"$b64":"AAEC/w=="}})");
}

TEST_CASE("invalid JSON and truncated msgpack are errors, not crashes") {
  // Malformed input reports a message instead of throwing.
  std::string out;
  CHECK_FALSE(w::mp::from_json("{\"a\":", out).ok());
  const std::string truncated =
      "\x82\xa1"
      "a";
  CHECK_FALSE(w::mp::to_json(truncated, out).ok());
}

TEST_CASE("MapView reads typed fields and keeps raw values") {
  // A protocol message: strings, ints, doubles, bools and a nested raw map.
  std::string buf;
  Packer pk(buf);
  pk.map(5);
  pk.str("t");
  pk.str("task");
  pk.str("id");
  pk.integer(-70000);
  pk.str("ms");
  pk.real(1.5);
  pk.str("ok");
  pk.boolean(true);
  pk.str("input");
  std::string inner;
  Packer(inner).map(0);
  pk.raw(inner);
  auto v = w::mp::MapView::parse(buf);
  REQUIRE(v.ok());
  CHECK(*v->string("t") == "task");
  CHECK(*v->integer("id") == -70000);
  CHECK(*v->number("ms") == 1.5);
  CHECK(*v->boolean("ok"));
  CHECK(v->raw("input") == inner);
  CHECK(*v->integer("absent", 7) == 7);
  CHECK_FALSE(v->integer("t").ok());
  CHECK_FALSE(w::mp::MapView::parse(std::string("\x92\x01\x02")).ok());
}

namespace {
// A map whose only key is the map one level down: {{{...:1}:1}:1}.
std::string key_bomb(int levels) {
  std::string bytes;
  for (int i = 0; i < levels; ++i) bytes += '\x81';
  bytes += '\x01';  // the innermost key
  for (int i = 0; i < levels; ++i) bytes += '\x01';
  return bytes;
}
}  // namespace

TEST_CASE("maps nested as keys stay small as JSON (key bomb)") {
  // Each level of a key that is itself a map used to be escaped again by
  // every level around it: 57 bytes became gigabytes.
  for (int levels : {1, 2, 8, 28}) {
    const std::string bytes = key_bomb(levels);
    std::string out;
    REQUIRE(w::mp::to_json(bytes, out).ok());
    CHECK(out.size() <= 16 * bytes.size() + 64);
  }
}

TEST_CASE("non-string keys: scalars as their text, composites once, deeper ones as msgpack") {
  // {1: "a", true: nil, [1,2]: 3, {[4]: 5}: 6}
  const std::string bytes = std::string(
      "\x84\x01\xa1"
      "a"
      "\xc3\xc0\x92\x01\x02\x03\x81\x91\x04\x05\x06",
      15);
  std::string out;
  REQUIRE(w::mp::to_json(bytes, out).ok());
  CHECK(out == R"({"1":"a","true":null,"[1,2]":3,"{\"$msgpack:kQQ=\":5}":6})");
}

TEST_CASE("a record whose JSON would pass the cap is an error that says so") {
  // 1,000 nils are 1,001 bytes of msgpack and ~5 KB of JSON.
  std::string bytes = "\xdc\x03\xe8";
  bytes += std::string(1000, '\xc0');
  std::string out;
  auto s = w::mp::to_json(bytes, out, 1024);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("larger than") != std::string::npos);
  out.clear();
  CHECK(w::mp::to_json(bytes, out).ok());
}

TEST_CASE("from_json packs as it reads exactly what the DOM packs") {
  auto nested = [](int depth, std::string_view inner) {
    return std::string(static_cast<size_t>(depth), '[') + std::string(inner) +
           std::string(static_cast<size_t>(depth), ']');
  };
  std::string wide_map = "{", wide_array = "[", big_map = "{";
  for (int i = 0; i < 20; ++i) wide_map += (i ? "," : "") + fmt::format("\"k{}\":{}", i, i);
  wide_map += "}";
  for (int i = 0; i < 70000; ++i) wide_array += (i ? ",1" : "1");
  wide_array += "]";
  for (int i = 0; i < 70000; ++i) big_map += (i ? "," : "") + fmt::format("\"{}\":null", i);
  big_map += "}";
  const std::vector<std::string> inputs = {
      "null", "true", "false", "0", "-1", "127", "128", "-33", "18446744073709551615",
      "-9223372036854775808", "1.5", "-0.0", "1e308", R"("")", R"("\u00e9\ud83d\ude00 \n")", "[]",
      "{}", R"({"a":[1,{"b":null}],"c":"d"})", wide_map, wide_array, big_map,
      // The $b64 form, and what only looks like it.
      R"({"$b64":"AAEC/w=="})", R"({"x":{"$b64":""}})", R"({"$b64":1})", R"({"$b64":"AA","y":1})",
      R"({"$b64":{"$b64":"AA=="}})",
      // Duplicate keys: the last value, at the first one's place (few and many keys).
      R"({"a":1,"b":2,"a":3})", wide_map.substr(0, wide_map.size() - 1) + R"(,"k3":"again"})",
      // Errors: the same message either way.
      R"({"$b64":"!!"})", "", "[1,", "{\"a\" 1}", "[1] x", "nul", "\"\\x\"", nested(256, "1"),
      nested(257, "1"), nested(257, ""), nested(300, "[")};
  for (const std::string& in : inputs) check_like_dom(in);
}

TEST_CASE("flat records take the fast path which packs what the DOM packs") {
  std::string wide = "{";
  for (int i = 0; i < 64; ++i) wide += (i ? "," : "") + fmt::format("\"c{}\":{}", i, -i);
  const std::string too_wide = wide + ",\"c64\":1}";
  wide += "}";
  // Taken: flat objects of plain ASCII keys and integers, strings, literals.
  const std::vector<std::string> taken = {
      "{}",
      " { } ",
      R"({"tid":1,"bid":1,"aid":3,"delta":-4999,"mtime":7})",
      "\t{ \"a\" : 0 ,\r\n\"b\":-0, \"c\" : \"x y~\x7f\" }\n",
      R"({"s":"","t":true,"f":false,"n":null})",
      R"({"u":18446744073709551615,"i":-9223372036854775808,"j":9223372036854775807})",
      R"({"p":"~!@#$%^&*()_+{}[]:;'<>,.?/|`"})",
      wide};
  // Left to nlohmann: whatever is outside that subset, valid or not.
  const std::vector<std::string> left = {R"({"x":1.5})",
                                         R"({"x":1e3})",
                                         R"({"x":1E3})",
                                         R"({"x":[1]})",
                                         R"({"x":{}})",
                                         R"({"\u0061":1})",
                                         R"({"a":"\n"})",
                                         "{\"a\":\"\xc3\xa9\"}",
                                         R"({"a":1,"a":2})",
                                         R"({"$b64":"AA=="})",
                                         R"({"u":18446744073709551616})",
                                         R"({"i":-9223372036854775809})",
                                         R"({"a":01})",
                                         R"({"a":-})",
                                         R"({"a":+1})",
                                         R"({"a":tru})",
                                         R"({"a":1,})",
                                         R"({"a":1}x)",
                                         R"({"a":1)",
                                         R"({a:1})",
                                         "[1]",
                                         "1",
                                         "\xef\xbb\xbf{}",
                                         too_wide,
                                         "{\"a\":\"\x01\"}"};
  for (const std::string& in : taken) {
    std::string out = "p";
    INFO(in);
    CHECK(w::mp::pack_flat_object(in, out));
    check_like_dom(in);
  }
  for (const std::string& in : left) {
    std::string out = "p";
    INFO(in);
    CHECK_FALSE(w::mp::pack_flat_object(in, out));
    CHECK(out == "p");
    check_like_dom(in);
  }
}
