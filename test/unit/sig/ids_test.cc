#include "../../../lib/src/sig/ids.h"

#include <catch2/catch.hpp>

#include <set>

#include "w/cap.h"
#include "w/sig.h"

using namespace w::sig;

TEST_CASE("ids follow the PeerJS client's rule") {
  // Alphanumeric runs joined by single '-', '_' or ' '; at most 255 bytes.
  for (const char* ok : {"a", "alice", "some experiment_1-x", "0b5e1b9c-1d2e-4f00"})
    CHECK(valid_id(ok));
  for (const char* bad : {"", "-a", "a-", "a--b", "a -b", "é", "a.b", "a/b", " a"}) {
    INFO(bad);
    CHECK_FALSE(valid_id(bad));
  }
  CHECK(valid_id(std::string(255, 'x')));
  CHECK_FALSE(valid_id(std::string(256, 'x')));
}

TEST_CASE("tokens are printable ASCII, 1 to 255 bytes") {
  // Math.random().toString(36).slice(2) and capabilities both pass.
  CHECK(valid_token("k3j4h5g6"));
  CHECK(valid_token("wsig:lab:j:00ff"));
  CHECK_FALSE(valid_token(""));
  CHECK_FALSE(valid_token("a b"));
  CHECK_FALSE(valid_token(std::string(256, 'x')));
}

TEST_CASE("random ids are distinct version-4 UUIDs that are valid ids") {
  // 1000 draws: no repeats, the UUID layout, and the client accepts them.
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = random_id();
    REQUIRE(id.size() == 36);
    CHECK(id[14] == '4');
    CHECK(valid_id(id));
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("the group of an id is what comes before its first '-'") {
  // The WebRTC blog's "someexperiment-3" belongs to "someexperiment".
  CHECK(group_of("someexperiment-3") == "someexperiment");
  CHECK(group_of("a-b-c") == "a");
  CHECK(group_of("alone").empty());
  CHECK(valid_group_prefix("someexperiment-"));
  CHECK(valid_group_prefix("lab_"));
  CHECK_FALSE(valid_group_prefix("-"));
  CHECK_FALSE(valid_group_prefix("lab"));
  CHECK_FALSE(valid_group_prefix(""));
}

TEST_CASE("group capabilities check service, group, right and MAC") {
  // A wsig capability names a group (or *) and rights; another secret,
  // group, right or service fails.
  const std::string secret = "0123456789abcdef0123";
  auto cap = mint_group_capability(secret, "lab", "create,join");
  REQUIRE(cap.ok());
  CHECK(check_group_capability(secret, *cap, "lab", kRightCreate));
  CHECK(check_group_capability(secret, *cap, "lab", kRightJoin));
  CHECK_FALSE(check_group_capability(secret, *cap, "other", kRightJoin));
  CHECK_FALSE(check_group_capability("another secret 0123", *cap, "lab", kRightJoin));
  auto any = mint_group_capability(secret, "*", "join");
  CHECK(check_group_capability(secret, *any, "whatever", kRightJoin));
  CHECK_FALSE(check_group_capability(secret, *any, "whatever", kRightCreate));
  auto expired = mint_group_capability(secret, "lab", "join", 1000);
  CHECK_FALSE(check_group_capability(secret, *expired, "lab", kRightJoin));
  const std::string wsql = w::cap::mint({"wsql", "lab", 3, 0}, secret);
  CHECK_FALSE(check_group_capability(secret, wsql, "lab", kRightJoin));
  for (const char* bad : {"", "w1:", "w1:wsig:lab:3:0", "garbage"})
    CHECK_FALSE(check_group_capability(secret, bad, "lab", kRightJoin));
  CHECK_FALSE(mint_group_capability(secret, "lab", "fly").ok());
}
