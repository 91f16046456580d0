#include "w/base64.h"

#include <catch2/catch.hpp>

TEST_CASE("base64 round-trips every length and rejects garbage") {
  // Lengths 0..5 cover every padding case.
  std::string s;
  for (int n = 0; n < 6; ++n) {
    auto decoded = w::base64::decode(w::base64::encode(s));
    REQUIRE(decoded.ok());
    CHECK(*decoded == s);
    s.push_back(static_cast<char>(250 - n));
  }
  CHECK(w::base64::encode("foobar") == "Zm9vYmFy");
  CHECK_FALSE(w::base64::decode("Zm9v!").ok());
}

TEST_CASE("the URL alphabet has no padding and no + or /, and decodes back") {
  // RFC 4648 section 10 vectors, and bytes that use characters 62 and 63.
  CHECK(w::base64::encode_url("") == "");
  CHECK(w::base64::encode_url("f") == "Zg");
  CHECK(w::base64::encode_url("fo") == "Zm8");
  CHECK(w::base64::encode_url("foo") == "Zm9v");
  CHECK(w::base64::encode("\xfb\xff") == "+/8=");
  CHECK(w::base64::encode_url("\xfb\xff") == "-_8");
  auto decoded = w::base64::decode("-_8");
  REQUIRE(decoded.ok());
  CHECK(*decoded == "\xfb\xff");
}
