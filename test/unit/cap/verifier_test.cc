#include "w/cap.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>

using namespace w::cap;

namespace {

constexpr RightName kNames[] = {{"work", 1}, {"submit", 2}, {"admin", 4}};
const std::string kSecret = "0123456789abcdef0123456789abcdef";
const std::string kKey = "a shared key of some length";

}  // namespace

TEST_CASE("a verifier grants the shared key every right", "[cap]") {
  // The key, compared as a whole, stands for a capability on "*" with all rights.
  Verifier v("wpool", kSecret, kKey, 7);
  auto c = v.check(kKey);
  REQUIRE(c.ok());
  CHECK(c->object == "*");
  CHECK(c->rights == 7);
  CHECK(v.is_key(kKey));
  CHECK_FALSE(v.is_key(kKey + "x"));
  CHECK_FALSE(v.is_key(kKey.substr(1)));
  CHECK(v.check("").status().code() == w::Code::kDenied);
}

TEST_CASE("a verifier checks the MAC, the expiry and the service", "[cap]") {
  // Minted with the secret: accepted (twice, the second time from the
  // cache); another service, another secret or an expired one: refused.
  Verifier v("wpool", kSecret, "", 7);
  CHECK(v.has_secret());
  std::string work = mint(Capability{"wpool", "*", 1, 0}, kSecret);
  REQUIRE(v.check(work).ok());
  CHECK(v.check(work)->rights == 1);
  auto other = v.check(mint(Capability{"wsql", "*", 15, 0}, kSecret));
  CHECK(other.status().message() == "the capability is for service 'wsql', not wpool");
  auto forged = v.check(mint(Capability{"wpool", "*", 7, 0}, "another secret, also long"));
  CHECK(forged.status().message().find("check failed") != std::string::npos);
  auto old = v.check(mint(Capability{"wpool", "*", 7, 1000}, kSecret));
  CHECK(old.status().message().find("expired") != std::string::npos);
}

TEST_CASE("without a secret the key signs capabilities", "[cap]") {
  // A key-only server accepts what `cap --key` mints; with neither, it is off.
  Verifier v("wsql", "", kKey, 15);
  CHECK(v.enabled());
  CHECK_FALSE(v.has_secret());
  CHECK(v.check(mint(Capability{"wsql", "runs", 1, 0}, kKey)).ok());
  CHECK_FALSE(Verifier("wsql", "", "", 15).enabled());
}

TEST_CASE("authorize tests the mask and the scope with clear messages", "[cap]") {
  // Every needed bit must be granted, on an object the capability covers.
  Capability c{"wpool", "nightly", 2, 0};
  CHECK(authorize(c, 2, "campaign", "nightly", kNames).ok());
  CHECK(authorize(c, 2, "campaign", "", kNames).ok());
  auto lacks = authorize(c, 4, "campaign", "nightly", kNames);
  CHECK(lacks.code() == w::Code::kDenied);
  CHECK(lacks.message() == "this capability lacks the 'admin' right on campaign 'nightly'");
  CHECK(authorize(c, 1, "campaign", "", kNames).message() ==
        "this capability lacks the 'work' right");
  CHECK(authorize(c, 2 | 4, "campaign", "", kNames).message().find("'admin'") != std::string::npos);
  CHECK(authorize(c, 2, "campaign", "other", kNames).message() ==
        "the capability is for campaign 'nightly', not 'other'");
  CHECK(authorize(Capability{"wpool", "*", 7, 0}, 7, "campaign", "any", kNames).ok());
}

TEST_CASE("mint_with parses rights, checks the name and sets the expiry", "[cap]") {
  // A key as the secret; unknown rights and bad names are refused.
  MintOptions o;
  o.key = kKey;
  o.rights = "submit";
  o.object = "nightly";
  o.expires_in = 3600;
  auto text = mint_with("wpool", o, kNames, "campaign");
  REQUIRE(text.ok());
  auto c = verify(*text, kKey);
  REQUIRE(c.ok());
  CHECK(c->rights == 2);
  CHECK(c->object == "nightly");
  CHECK(c->expires >= static_cast<int64_t>(std::time(nullptr)) + 3590);
  o.rights = "read";
  CHECK(mint_with("wpool", o, kNames, "campaign").status().message().find("unknown right 'read'") !=
        std::string::npos);
  o.rights = "all";
  o.object = "../x";
  CHECK(mint_with("wpool", o, kNames, "campaign").status().message() == "bad campaign name '../x'");
  o.key.clear();
  CHECK(mint_with("wpool", o, kNames, "campaign").status().code() == w::Code::kInvalid);
}

TEST_CASE("mint_with signs with the secret file even when a key is set too", "[cap]") {
  // A key from the environment (WPOOL_KEY) must not sign for a pool with a secret.
  char path[] = "/tmp/verifier_test.XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::ofstream(path) << kSecret << "\n";
  MintOptions o;
  o.secret_file = path;
  o.key = kKey;
  o.rights = "work";
  auto text = mint_with("wpool", o, kNames, "campaign");
  std::remove(path);
  REQUIRE(text.ok());
  CHECK(verify(*text, kSecret).ok());
  CHECK_FALSE(verify(*text, kKey).ok());
}
