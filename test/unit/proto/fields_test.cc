#include "../../../lib/src/proto/fields.h"

#include <catch2/catch.hpp>

#include "wire_cases.h"

using namespace w::proto;
using namespace w::proto::test;

TEST_CASE("kind_of names every msgpack type") {
  // Error messages say what was sent instead of what was expected.
  CHECK(kind_of(pack("x")) == "a string");
  CHECK(kind_of(pack(7)) == "an integer");
  CHECK(kind_of(pack(-7)) == "an integer");
  CHECK(kind_of(pack(1.5)) == "a float");
  CHECK(kind_of(pack(true)) == "a boolean");
  CHECK(kind_of(pack(nullptr)) == "nil");
  CHECK(kind_of(pack(Json::array())) == "an array");
  CHECK(kind_of(pack(Json::object())) == "a map");
  CHECK(kind_of(pack(bin({1}))) == "bin");
  CHECK(kind_of(pack(Json(uint64_t{1} << 63))) == "an integer past 2^63-1");
  CHECK(kind_of(std::string("\xd4\x01\x02", 3)) == "an extension");
  CHECK(kind_of("") == "truncated");
  CHECK(kind_of("\xa5xy") == "truncated");
  CHECK(kind_of("\xc1") == "truncated");
}

TEST_CASE("valid_utf8 refuses what JSON and terminals must never see") {
  // Overlongs, surrogates, code points past U+10FFFF and stray bytes.
  CHECK(valid_utf8("plain"));
  CHECK(valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  CHECK_FALSE(valid_utf8("\xff"));
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(valid_utf8("\xe2\x82"));          // cut short
}

TEST_CASE("clean_text replaces bad bytes and never cuts a character") {
  // Encoders send kernel error texts through it.
  CHECK(clean_text("a\xff"
                   "b",
                   100) ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(clean_text("\xc3\xa9\xc3\xa9", 3) == "\xc3\xa9");
  CHECK(clean_text(std::string(10, 'x'), 4) == "xxxx");
  CHECK(valid_utf8(clean_text("\xe2\x82\xff\xf0", 64)));
}

TEST_CASE("Fields: the first error sticks and names the nested path") {
  // Reads after an error change nothing; paths join with '.' and '[i]'.
  const std::string bytes = pack({{"a", "x"}, {"b", 2}, {"c", {1, "z"}}});
  Fields f(bytes, "msg", "items[2]");
  int64_t b = 0;
  std::string a;
  f.integer("a", b, 0, 10);
  CHECK(f.status().message() == "msg: items[2].a: expected an integer, got a string");
  f.text("a", a, 10);
  CHECK(a.empty());
  CHECK(f.status().message() == "msg: items[2].a: expected an integer, got a string");
  Fields g(bytes, "msg");
  std::vector<int64_t> c;
  g.integers("c", c, 10, 0, 10);
  CHECK(g.status().message() == "msg: c[1]: expected an integer, got a string");
  Fields h(bytes, "msg");
  std::vector<std::string_view> items;
  h.array("c", items, 1);
  CHECK(h.status().message() == "msg: c: 2 items is more than the limit (1)");
}

TEST_CASE("Fields: a map with a non-string key or trailing bytes is refused") {
  // The whole message must be one map with string keys.
  Fields keys("\x81\x01\x02", "msg");
  CHECK_THAT(keys.status().message(), Catch::StartsWith("msg: "));
  CHECK_FALSE(keys.ok());
  Fields trailing(pack(Json::object()) + "\x01", "msg");
  CHECK_FALSE(trailing.ok());
  Fields nested(pack(Json::array()), "results", "items[0]");
  CHECK(nested.status().message() == "results: items[0]: expected a map, got an array");
}
