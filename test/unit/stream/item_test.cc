#include <string>

#include <catch2/catch.hpp>

#include "w/msgpack.h"

using w::mp::Item;

namespace {

Item read_one(const std::string& bytes) {
  std::string_view rest = bytes;
  Item item;
  REQUIRE(w::mp::read_item(rest, item));
  CHECK(rest.empty());
  return item;
}

}  // namespace

TEST_CASE("read_item reads every scalar kind, sign-extending signed ints") {
  CHECK(read_one("\x05").uint == 5);
  CHECK(read_one("\xff").sint == -1);                               // negative fixint
  CHECK(read_one(std::string("\xd0\x80", 2)).sint == -128);         // int 8
  CHECK(read_one(std::string("\xd1\xff\x00", 3)).sint == -256);     // int 16
  CHECK(read_one(std::string("\xd0\x05", 2)).kind == Item::kUint);  // int 8, positive
  CHECK(read_one(std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9)).uint == UINT64_MAX);
  CHECK(read_one(std::string("\xca\x3f\xc0\x00\x00", 5)).real == 1.5);  // float 32
  CHECK(read_one("\xc3").boolean);
  CHECK(read_one("\xc0").kind == Item::kNil);
  CHECK(read_one("\xa2hi").bytes == "hi");
  CHECK(read_one(std::string("\xc4\x02\x00\x01", 4)).bytes == std::string("\x00\x01", 2));
  // Payloads are views: the bytes must outlive the Item.
  const std::string fixext_bytes("\xd4\x07\x2a", 3);
  const Item fixext = read_one(fixext_bytes);
  CHECK(fixext.kind == Item::kExt);
  CHECK(fixext.ext_type == 7);
  CHECK(fixext.bytes == "\x2a");
  const std::string ext8_bytes(
      "\xc7\x03\xfe"
      "abc",
      6);
  const Item ext8 = read_one(ext8_bytes);
  CHECK(ext8.kind == Item::kExt);
  CHECK(ext8.ext_type == -2);
  CHECK(ext8.bytes == "abc");
}

TEST_CASE("read_item reads a container's header and leaves its children") {
  const std::string bytes("\x92\x01\x02", 3);
  std::string_view rest = bytes;
  Item item;
  REQUIRE(w::mp::read_item(rest, item));
  CHECK((item.kind == Item::kArray && item.count == 2 && rest.size() == 2));
  const std::string map16("\xde\x00\x01\xa1k\x01", 6);
  CHECK(read_one(std::string(map16.data(), 3)).count == 1);
}

TEST_CASE("read_item refuses bytes that end early and 0xc1") {
  for (const std::string& bad :
       {std::string("\xc1"), std::string("\xcd\x01"),
        std::string("\xa3"
                    "ab"),
        std::string("\xc5\x00"), std::string("\xd8\x01\x02"), std::string()}) {
    std::string_view rest = bad;
    Item item;
    CHECK_FALSE(w::mp::read_item(rest, item));
    CHECK(rest.size() == bad.size());  // nothing consumed
  }
}
