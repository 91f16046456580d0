#include "w/cap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

using namespace w::cap;

namespace {

constexpr RightName kNames[] = {{"read", 1}, {"write", 2}, {"table", 4}, {"db", 8}};
const std::string kSecret = "0123456789abcdef0123456789abcdef";

Capability sample() {
  return Capability{"wsql", "runs", 3, 0};
}

std::string temp_dir() {
  char tmpl[] = "/tmp/cap_test.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

}  // namespace

TEST_CASE("a minted capability verifies and keeps its fields", "[cap]") {
  // mint then verify with the same secret gives back service, object, rights.
  std::string text = mint(sample(), kSecret);
  CHECK(text.rfind("w1:wsql:runs:3:0:", 0) == 0);
  auto c = verify(text, kSecret);
  REQUIRE(c.ok());
  CHECK(c->service == "wsql");
  CHECK(c->object == "runs");
  CHECK(c->rights == 3);
  CHECK(c->allows(1));
  CHECK(c->allows(3));
  CHECK_FALSE(c->allows(4));
  CHECK_FALSE(c->allows(5));  // a mask test: one missing bit refuses
  CHECK(c->covers("runs"));
  CHECK_FALSE(c->covers("other"));
}

TEST_CASE("forged and altered capabilities are refused", "[cap]") {
  // Another secret, a changed rights field, a changed object, a cut MAC.
  std::string text = mint(sample(), kSecret);
  CHECK(verify(text, "another secret, also long").status().code() == w::Code::kDenied);
  std::string wider = text;
  wider.replace(wider.find(":3:"), 3, ":f:");
  auto r = verify(wider, kSecret);
  CHECK(r.status().code() == w::Code::kDenied);
  CHECK(r.status().message().find("check failed") != std::string::npos);
  std::string other = text;
  other.replace(other.find("runs"), 4, "logs");
  CHECK_FALSE(verify(other, kSecret).ok());
  CHECK_FALSE(verify(text.substr(0, text.size() - 1), kSecret).ok());
  CHECK_FALSE(verify("", kSecret).ok());
  CHECK_FALSE(verify("w1:wsql:runs:3:0", kSecret).ok());
  CHECK_FALSE(verify("w1:wsql:../x:3:0:AAAA", kSecret).ok());
}

TEST_CASE("an expired capability is refused", "[cap]") {
  // expires is checked against the clock given; 0 means never.
  Capability c = sample();
  c.expires = 1000;
  std::string text = mint(c, kSecret);
  CHECK(verify(text, kSecret, 999).ok());
  auto r = verify(text, kSecret, 1000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("expired") != std::string::npos);
  CHECK(verify(mint(sample(), kSecret), kSecret, 1LL << 40).ok());
}

TEST_CASE("restrict only narrows", "[cap]") {
  // Rights intersect, "*" narrows to one object, expiry only comes sooner.
  Capability all{"wsql", "*", 15, 0};
  std::string text = mint(all, kSecret);
  const int64_t soon = time(nullptr) + 3600;
  auto weak = restrict(text, kSecret, 1 | 16, "runs", soon);
  REQUIRE(weak.ok());
  auto c = verify(*weak, kSecret, 100);
  REQUIRE(c.ok());
  CHECK(c->rights == 1);
  CHECK(c->object == "runs");
  CHECK(c->expires == soon);
  auto wider = restrict(*weak, kSecret, 15, "other", 0);
  CHECK(wider.status().code() == w::Code::kDenied);
  auto later = restrict(*weak, kSecret, 15, "", soon + 100);
  REQUIRE(later.ok());
  CHECK(verify(*later, kSecret, 100)->expires == soon);
  CHECK(verify(*later, kSecret, 100)->rights == 1);
}

TEST_CASE("rights parse from names and format back", "[cap]") {
  // "read,write" -> 3, "all" -> every named bit, hex masks, unknown names fail.
  CHECK(*parse_rights("read,write", kNames) == 3);
  CHECK(*parse_rights("all", kNames) == 15);
  CHECK(*parse_rights("0x5", kNames) == 5);
  auto bad = parse_rights("read,admin", kNames);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("unknown right 'admin'") != std::string::npos);
  CHECK(format_rights(3, kNames) == "read,write");
  CHECK(format_rights(0, kNames) == "none");
  CHECK(format_rights(1 | 32, kNames) == "read,0x20");
}

TEST_CASE("names are checked for path tricks", "[cap]") {
  // Names that could escape a directory or break the format are invalid.
  CHECK(valid_name("runs"));
  CHECK(valid_name("run-1.v2_x"));
  CHECK_FALSE(valid_name(""));
  CHECK_FALSE(valid_name(".."));
  CHECK_FALSE(valid_name("../x"));
  CHECK_FALSE(valid_name("a/b"));
  CHECK_FALSE(valid_name("a:b"));
  CHECK_FALSE(valid_name("-x"));
  CHECK_FALSE(valid_name(std::string(65, 'a')));
}

TEST_CASE("a secret file is created once and shared", "[cap]") {
  // Two threads racing to create the file read back the same secret; the
  // file is private (0600).
  std::string dir = temp_dir();
  std::string path = dir + "/wsql.secret";
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] { got[i] = *load_or_create_secret(path); });
  for (auto& t : threads) t.join();
  for (const auto& s : got) CHECK(s == got[0]);
  CHECK(got[0].size() == 64);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(*read_secret(path) == got[0]);
  std::ofstream(dir + "/short") << "abc\n";
  CHECK(read_secret(dir + "/short").status().code() == w::Code::kInvalid);
  CHECK(read_secret(dir + "/missing").status().code() == w::Code::kNotFound);
  std::filesystem::remove_all(dir);
}
