#include "../../../lib/src/sig/message.h"

#include <catch2/catch.hpp>

using namespace w::sig;

TEST_CASE("the fields wsig reads are found: payload is the raw value text") {
  // A PeerJS OFFER with odd spacing, escapes and numbers keeps its payload bytes.
  const std::string payload =
      R"({ "sdp" : "v=0\r\n", "n": 1.0e+2, "u": "\u00e9\ud83d\ude00" , "a":[1, {}]})";
  const std::string text =
      " {\"type\":\"OFFER\", \"dst\" : \"bob\",\"payload\": " + payload + " }\n";
  Message m;
  REQUIRE(parse_message(text, m));
  CHECK(m.type == Type::kOffer);
  CHECK(m.has_dst);
  CHECK(m.dst == "bob");
  CHECK(m.has_payload);
  CHECK(m.payload == payload);
}

TEST_CASE("keys and values with escapes are decoded before use") {
  // "typ\u0065" is "type" to JSON.parse, and so it is here.
  Message m;
  REQUIRE(parse_message(R"({"typ\u0065":"ANS\u0057ER","d\u0073t":"b\u006fb"})", m));
  CHECK(m.type == Type::kAnswer);
  CHECK(m.dst == "bob");
}

TEST_CASE("the last of duplicate keys wins, as in JSON.parse") {
  // {"type":"X","type":"CANDIDATE"} is a CANDIDATE.
  Message m;
  REQUIRE(parse_message(R"({"type":"X","dst":"a","type":"CANDIDATE","dst":"b"})", m));
  CHECK(m.type == Type::kCandidate);
  CHECK(m.dst == "b");
}

TEST_CASE("non-string type and dst are not taken") {
  // A number dst or an array type leaves the message unusable, not mistaken.
  Message m;
  REQUIRE(parse_message(R"({"type":["OFFER"],"dst":5})", m));
  CHECK(m.type == Type::kUnknown);
  CHECK_FALSE(m.has_dst);
  REQUIRE(parse_message(R"({"type":"HEARTBEAT"})", m));
  CHECK(m.type == Type::kHeartbeat);
  CHECK_FALSE(m.has_payload);
}

TEST_CASE("RELAY-ACK bytes is read only as a plain non-negative integer") {
  // 42 is taken; -1, 1.5, 1e3 and "42" are not.
  Message m;
  REQUIRE(parse_message(R"({"type":"RELAY-ACK","bytes":42})", m));
  CHECK(m.bytes == 42);
  for (const char* v : {"-1", "1.5", "1e3", "\"42\"", "999999999999999999999"}) {
    REQUIRE(parse_message(std::string(R"({"type":"RELAY-ACK","bytes":)") + v + "}", m));
    CHECK(m.bytes == -1);
  }
}

TEST_CASE("anything but one valid JSON object is rejected") {
  // Each of these is dropped by the stock server too (JSON.parse fails, or
  // the value is not an object).
  Message m;
  for (const char* bad : {"",
                          " ",
                          "{",
                          "}",
                          "null",
                          "[]",
                          "\"x\"",
                          "1",
                          "{} {}",
                          "{\"a\":1,}",
                          "{\"a\" 1}",
                          "{'a':1}",
                          "{\"a\":01}",
                          "{\"a\":1.}",
                          "{\"a\":.5}",
                          "{\"a\":-}",
                          "{\"a\":tru}",
                          "{\"a\":\"\x01\"}",
                          "{\"a\":\"\\x\"}",
                          "{\"a\":\"\\u12g4\"}",
                          "{\"a\":[1,]}",
                          "\xef\xbb\xbf{}",
                          "{\"a\":NaN}",
                          "{\"a\":\"unterminated}"}) {
    INFO(bad);
    CHECK_FALSE(parse_message(bad, m));
  }
}

TEST_CASE("strings must be valid UTF-8") {
  // Overlongs, surrogates, bytes past U+10FFFF and truncated sequences are
  // refused: a browser would drop the receiver's socket over them.
  Message m;
  CHECK(parse_message("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", m));
  for (const char* bad : {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3",
                          "\xff", "\x80", "\xf0\x9f\x98"}) {
    INFO(bad);
    CHECK_FALSE(parse_message(std::string("{\"a\":\"") + bad + "\"}", m));
  }
}

TEST_CASE("nesting deeper than kMaxDepth is refused, without deep recursion") {
  // 100 levels pass; 100,000 opening brackets are refused, not a stack overflow.
  Message m;
  std::string ok = "{\"payload\":" + std::string(100, '[') + std::string(100, ']') + "}";
  CHECK(parse_message(ok, m));
  std::string deep = "{\"payload\":" + std::string(100000, '[');
  CHECK_FALSE(parse_message(deep, m));
}

TEST_CASE("messages are built in the stock key order with the payload spliced") {
  // {type, src, dst, payload}; src and dst escaped, payload verbatim.
  CHECK(build_message("OFFER", "a", "b", "{ \"x\" : 1.50 }") ==
        R"({"type":"OFFER","src":"a","dst":"b","payload":{ "x" : 1.50 }})");
  CHECK(build_message("EXPIRE", "ghost", "alice") ==
        R"({"type":"EXPIRE","src":"ghost","dst":"alice"})");
  CHECK(build_notice("ERROR", "say \"hi\"\n") ==
        R"({"type":"ERROR","payload":{"msg":"say \"hi\"\u000a"}})");
}

TEST_CASE("type names round-trip") {
  // Every type's wire name maps back to it; unknown names are kUnknown.
  for (int t = 1; t <= static_cast<int>(Type::kRelayClose); ++t)
    CHECK(type_from_name(type_name(static_cast<Type>(t))) == static_cast<Type>(t));
  CHECK(type_from_name("OPEN") == Type::kUnknown);
  CHECK(type_from_name("") == Type::kUnknown);
}
