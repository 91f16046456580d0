#include "../../../lib/src/pool/quorum.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace w::pool;

namespace {

Vote vote(const std::string& worker, const std::string& output, bool counted = true) {
  return {worker, "linux-x86_64", output, canonical_msgpack(output), 1.0, counted};
}

const QuorumRule kTwoOfTwo{2, 2, 5};  // --replicas 2 --quorum 2, max attempts 3

}  // namespace

TEST_CASE("quorum: canonical form makes two encodings of one value equal") {
  // 5 as a fixint and as an int16; {"a":1,"b":2} with its keys in either
  // order; a float32 and the float64 of the same number.
  CHECK(canonical_msgpack("\x05") == canonical_msgpack(std::string("\xd1\x00\x05", 3)));
  CHECK(canonical_msgpack("\x82\xa1"
                          "a\x01\xa1"
                          "b\x02") == canonical_msgpack("\x82\xa1"
                                                        "b\x02\xa1"
                                                        "a\x01"));
  CHECK(canonical_msgpack(std::string("\xca\x3f\xc0\x00\x00", 5)) ==
        canonical_msgpack(std::string("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", 9)));
  // Different values stay different; a str and a bin of the same bytes too.
  CHECK(canonical_msgpack("\x05") != canonical_msgpack("\x06"));
  CHECK(canonical_msgpack("\xa1x") != canonical_msgpack(std::string("\xc4\x01x", 3)));
  // Not one object: compared as they are.
  CHECK(canonical_msgpack(std::string("\x01\x02", 2)) == std::string("\x01\x02", 2));
}

TEST_CASE("quorum: deeply nested output is compared as raw bytes, not recursed into") {
  // A hostile worker's output nested 100000 arrays deep must not blow the stack.
  std::string deep(100000, '\x91');
  deep += '\xc0';
  CHECK(canonical_msgpack(deep) == deep);
}

TEST_CASE("quorum: two of two agreeing accept the first of them") {
  // Both replicas return the same value: accepted, naming the first vote.
  std::vector<Vote> votes{vote("a", "\x01"), vote("b", "\x01")};
  Verdict v = judge(votes, 0, kTwoOfTwo);
  CHECK(v.kind == Verdict::kAccept);
  CHECK(v.accepted == 0);
}

TEST_CASE("quorum: the first replica out wants one more, the second none") {
  // One replica handed out of two: one more wanted; both out: wait.
  CHECK(judge({}, 1, kTwoOfTwo).wanted == 1);
  CHECK(judge({}, 2, kTwoOfTwo).wanted == 0);
  CHECK(judge({vote("a", "\x01")}, 1, kTwoOfTwo).kind == Verdict::kWait);
  CHECK(judge({vote("a", "\x01")}, 1, kTwoOfTwo).wanted == 0);
  CHECK(judge({vote("a", "\x01")}, 0, kTwoOfTwo).wanted == 1);
}

TEST_CASE("quorum: a disagreement asks for one extra replica, which decides") {
  // An honest and a cheating worker disagree: a third replica is wanted;
  // when it agrees with the honest one, that value is accepted.
  const std::string wrong =
      "\xa5"
      "cheat";
  std::vector<Vote> votes{vote("cheat", wrong), vote("a", "\x01")};
  Verdict v = judge(votes, 0, kTwoOfTwo);
  CHECK(v.kind == Verdict::kWait);
  CHECK(v.wanted == 1);
  votes.push_back(vote("b", "\x01"));
  v = judge(votes, 0, kTwoOfTwo);
  REQUIRE(v.kind == Verdict::kAccept);
  CHECK(votes[static_cast<size_t>(v.accepted)].worker == "a");
}

TEST_CASE("quorum: no quorum within the bound fails the task with the reason") {
  // Five workers, five different values, bound 5: the task fails.
  std::vector<Vote> votes;
  for (int i = 0; i < 5; ++i) votes.push_back(vote(std::string(1, 'a' + i), std::string(1, i)));
  Verdict v = judge(votes, 0, kTwoOfTwo);
  REQUIRE(v.kind == Verdict::kFail);
  CHECK(v.why ==
        "no quorum: 5 results from different workers, 5 different values, at most 1 agree (2 "
        "needed)");
  // With one still running it waits for that one instead.
  votes.pop_back();
  CHECK(judge(votes, 1, kTwoOfTwo).kind == Verdict::kWait);
}

TEST_CASE("quorum: votes of a flagged worker do not count") {
  // A flagged worker's earlier vote agrees with an honest one, but only
  // the honest vote counts: one more replica is wanted.
  std::vector<Vote> votes{vote("cheat", "\x01", false), vote("a", "\x01")};
  Verdict v = judge(votes, 0, kTwoOfTwo);
  CHECK(v.kind == Verdict::kWait);
  CHECK(v.wanted == 1);
}

TEST_CASE("quorum: three replicas with a quorum of two accept at the second agreement") {
  // --replicas 3 --quorum 2: two agreeing results decide even while the
  // third is still running.
  const QuorumRule rule{3, 2, 6};
  CHECK(judge({}, 1, rule).wanted == 2);
  std::vector<Vote> votes{vote("a", "\x07"), vote("b", "\x07")};
  CHECK(judge(votes, 1, rule).kind == Verdict::kAccept);
}

namespace {
Vote vote_on(const std::string& worker, const std::string& platform, const std::string& output) {
  return {worker, platform, output, canonical_msgpack(output), 1.0, true};
}
std::string f64(double d) {
  std::string out("\xcb", 1);
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  for (int i = 7; i >= 0; --i) out += static_cast<char>((bits >> (8 * i)) & 0xff);
  return out;
}
}  // namespace

TEST_CASE("quorum: votes of different platforms are never compared") {
  // A browser (wasm32) and a native worker differ in the last bit of a
  // float: neither is a quorum, neither is outvoted; a third (native) vote
  // that agrees with the native one decides, and the browser's vote is not
  // among the disagreeing.
  const std::string native = f64(0.1 + 0.2), browser = f64(0.30000000000000004 + 1e-16);
  REQUIRE(native != browser);
  std::vector<Vote> votes{vote_on("b", "wasm32", browser), vote_on("n1", "linux-x86_64", native)};
  Verdict v = judge(votes, 0, kTwoOfTwo);
  CHECK(v.kind == Verdict::kWait);
  CHECK(v.wanted == 1);
  votes.push_back(vote_on("n2", "linux-x86_64", native));
  v = judge(votes, 0, kTwoOfTwo);
  REQUIRE(v.kind == Verdict::kAccept);
  CHECK(v.accepted == 1);
  CHECK(disagrees(votes[0], votes[1], kTwoOfTwo) == false);
}

TEST_CASE("quorum: a cheater of the accepted value's platform disagrees") {
  // Two honest natives and a native cheater: the cheater disagrees.
  std::vector<Vote> votes{vote_on("n1", "linux-x86_64", "\x01"),
                          vote_on("c", "linux-x86_64", "\x02"),
                          vote_on("n2", "linux-x86_64", "\x01")};
  Verdict v = judge(votes, 0, kTwoOfTwo);
  REQUIRE(v.kind == Verdict::kAccept);
  CHECK(disagrees(votes[1], votes[static_cast<size_t>(v.accepted)], kTwoOfTwo));
  CHECK_FALSE(disagrees(votes[2], votes[static_cast<size_t>(v.accepted)], kTwoOfTwo));
}

TEST_CASE("quorum: with a tolerance, floats agree field by field across platforms") {
  // {"loss": x, "w": [a, b]}: the browser's last bits differ; within a
  // relative tolerance of 1e-9 it agrees with the native vote. A value off
  // by 1% does not, nor does one of another shape.
  auto rec = [](double loss, double a, double b) {
    return std::string("\x82\xa4loss", 6) + f64(loss) + std::string("\xa1w\x92", 3) + f64(a) +
           f64(b);
  };
  QuorumRule rule = kTwoOfTwo;
  rule.tolerance = 1e-9;
  std::vector<Vote> votes{vote_on("b", "wasm32", rec(0.5000000000000001, 1.0, -2.0)),
                          vote_on("n", "linux-x86_64", rec(0.5, 1.0, -2.0000000000000004))};
  Verdict v = judge(votes, 0, rule);
  CHECK(v.kind == Verdict::kAccept);
  CHECK_FALSE(disagrees(votes[0], votes[1], rule));
  Vote off = vote_on("c", "linux-x86_64", rec(0.505, 1.0, -2.0));
  CHECK(disagrees(off, votes[1], rule));
  Vote other_shape = vote_on("d", "linux-x86_64", std::string("\x92", 1) + f64(1.0) + f64(2.0));
  CHECK(disagrees(other_shape, votes[1], rule));
  // Integers and strings stay exact.
  CHECK(
      disagrees(vote_on("e", "linux-x86_64", "\x05"), vote_on("f", "linux-x86_64", "\x06"), rule));
  CHECK_FALSE(
      disagrees(vote_on("e", "linux-x86_64", "\x05"), vote_on("f", "wasm32", "\x05"), rule));
}

TEST_CASE("quorum: ext values in the shortest form, and map keys compared under a tolerance") {
  // ext 8 of one byte is fixext 1 in canonical form; the ext type stays.
  CHECK(canonical_msgpack(std::string("\xc7\x01\x05\x2a", 4)) == std::string("\xd4\x05\x2a", 3));
  CHECK(canonical_msgpack(std::string("\xd4\x05\x2a", 3)) !=
        canonical_msgpack(std::string("\xd4\x06\x2a", 3)));
  // {"a": 1.0} and {"b": 1.0}: same numbers, other keys, never agree.
  QuorumRule rule = kTwoOfTwo;
  rule.tolerance = 0.5;
  const std::string a = std::string("\x81\xa1", 2) + "a" + f64(1.0);
  const std::string b = std::string("\x81\xa1", 2) + "b" + f64(1.0);
  CHECK(disagrees(vote_on("x", "wasm32", a), vote_on("y", "linux-x86_64", b), rule));
  CHECK_FALSE(disagrees(vote_on("x", "wasm32", a), vote_on("y", "linux-x86_64", a), rule));
}
