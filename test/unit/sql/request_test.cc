#include "../../../lib/src/sql/request.h"

#include <catch2/catch.hpp>

#include "w/msgpack.h"

using namespace w::sql;

namespace {

Error parse_json(const std::string& json, Request& r, std::string& storage) {
  std::vector<std::string_view> parts;
  bool batch = false;
  Error e = split_message(json, false, storage, parts, batch);
  if (!e.ok()) return e;
  REQUIRE(parts.size() == 1);
  return parse_request(parts[0], r);
}

}  // namespace

TEST_CASE("a select request decodes into typed fields", "[sql]") {
  // Every field lands in its member; params stay raw msgpack.
  Request r;
  std::string storage;
  Error e = parse_json(R"({"id":"q1","op":"select","db":"runs","table":"m","columns":["a","b"],
      "where":"a > ?","params":[1.5,"x",null],"order":"a DESC","limit":10,"offset":5})",
                       r, storage);
  REQUIRE(e.ok());
  CHECK(r.op == Op::kSelect);
  CHECK(r.db == "runs");
  CHECK(r.columns == std::vector<std::string>{"a", "b"});
  CHECK(r.where == "a > ?");
  CHECK(r.params.size() == 3);
  CHECK(r.params[2] == "\xc0");
  CHECK(r.limit == 10);
  CHECK(r.offset == 5);
  std::string id;
  REQUIRE(w::mp::to_json(r.id, id).ok());
  CHECK(id == "\"q1\"");
}

TEST_CASE("create columns keep their order in both forms", "[sql]") {
  // {"b": ..., "a": ...} and [["b", ...], ["a", ...]] give the same defs.
  Request m, a;
  std::string s1, s2;
  REQUIRE(
      parse_json(R"({"op":"create","table":"t","columns":{"b":"TEXT","a":"INT"}})", m, s1).ok());
  REQUIRE(parse_json(R"({"op":"create","table":"t","columns":[["b","TEXT"],["a","INT"]]})", a, s2)
              .ok());
  CHECK(m.defs == a.defs);
  CHECK(m.defs[0].first == "b");
}

TEST_CASE("requests with wrong shapes are bad requests", "[sql]") {
  // Missing op, unknown op or field, wrong types, missing required fields.
  const char* bad[] = {
      R"({"table":"t"})",
      R"({"op":"launch"})",
      R"({"op":"select","table":"t","colour":1})",
      R"({"op":"select","table":7})",
      R"({"op":"select","table":"t","limit":-1})",
      R"({"op":"select"})",
      R"({"op":"insert","table":"t"})",
      R"({"op":"insert","table":"t","rows":[1,2]})",
      R"({"op":"sql"})",
      R"({"op":"update","table":"t"})",
      R"({"op":"insert","table":"t","row":{"a":1},"conflict":"explode"})",
      R"([1,2)",
      R"("just a string")",
  };
  for (const char* json : bad) {
    Request r;
    std::string storage;
    INFO(json);
    Error e = parse_json(json, r, storage);
    CHECK(e.code == Err::kBadRequest);
    CHECK_FALSE(e.message.empty());
  }
}

TEST_CASE("an array message splits into its requests", "[sql]") {
  // Batches are answered as arrays; msgpack and JSON decode alike.
  std::string packed, storage;
  REQUIRE(w::mp::from_json(R"([{"op":"tables"},{"op":"databases"}])", packed).ok());
  std::vector<std::string_view> parts;
  bool batch = false;
  REQUIRE(split_message(packed, true, storage, parts, batch).ok());
  CHECK(batch);
  CHECK(parts.size() == 2);
  Request r;
  REQUIRE(parse_request(parts[1], r).ok());
  CHECK(r.op == Op::kDatabases);
  CHECK(split_message(packed.substr(0, packed.size() - 1), true, storage, parts, batch).code ==
        Err::kBadRequest);
}
