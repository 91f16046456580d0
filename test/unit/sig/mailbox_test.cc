#include "../../../lib/src/sig/mailbox.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace w::sig;

namespace {
using Drops = std::vector<std::pair<std::string, std::string>>;
Mailboxes::DropFn recorder(Drops& d) {
  return [&d](const std::string& src, const std::string& dst) { d.emplace_back(src, dst); };
}
}  // namespace

TEST_CASE("queued messages come out in order and the queue is gone") {
  // Three messages for "late" are taken in arrival order; a second take is empty.
  Mailboxes mb(10, 1 << 20, 5000);
  Drops drops;
  for (int i = 0; i < 3; ++i) mb.push("late", "a", std::to_string(i), 0, recorder(drops));
  CHECK(mb.messages() == 3);
  CHECK(mb.bytes() == 3);
  auto q = mb.take("late");
  REQUIRE(q.size() == 3);
  CHECK(q[0].data == "0");
  CHECK(q[2].data == "2");
  CHECK(mb.take("late").empty());
  CHECK(mb.messages() == 0);
  CHECK(mb.bytes() == 0);
  CHECK(drops.empty());
}

TEST_CASE("a queue expires expire_ms after it was created, one notice per sender") {
  // Two senders, three messages: each sender is told once, at 5000 ms, not before.
  Mailboxes mb(10, 1 << 20, 5000);
  Drops drops;
  mb.push("ghost", "a", "1", 0, recorder(drops));
  mb.push("ghost", "a", "2", 100, recorder(drops));
  mb.push("ghost", "b", "3", 4000, recorder(drops));
  mb.expire(4999, recorder(drops));
  CHECK(drops.empty());
  mb.expire(5000, recorder(drops));
  CHECK(drops == Drops{{"a", "ghost"}, {"b", "ghost"}});
  CHECK(mb.ids() == 0);
  CHECK(mb.bytes() == 0);
}

TEST_CASE("a queue taken and re-created gets a fresh expiry") {
  // Taken at 1000 and re-created at 3000, it expires at 8000, not 5000.
  Mailboxes mb(10, 1 << 20, 5000);
  Drops drops;
  mb.push("x", "a", "1", 0, recorder(drops));
  (void)mb.take("x");
  mb.push("x", "a", "2", 3000, recorder(drops));
  mb.expire(7999, recorder(drops));
  CHECK(drops.empty());
  CHECK(mb.messages() == 1);
  mb.expire(8000, recorder(drops));
  CHECK(drops.size() == 1);
}

TEST_CASE("the per-id limit drops the oldest message and names its sender") {
  // Limit 2: the third message pushes out the first, whose sender hears of it.
  Mailboxes mb(2, 1 << 20, 5000);
  Drops drops;
  mb.push("x", "a", "1", 0, recorder(drops));
  mb.push("x", "b", "2", 0, recorder(drops));
  mb.push("x", "c", "3", 0, recorder(drops));
  CHECK(drops == Drops{{"a", "x"}});
  auto q = mb.take("x");
  REQUIRE(q.size() == 2);
  CHECK(q[0].data == "2");
}

TEST_CASE("the total byte limit takes from the oldest queue first") {
  // 10 bytes in all: a new 4-byte message for "new" evicts from "old" first.
  Mailboxes mb(100, 10, 5000);
  Drops drops;
  mb.push("old", "a", "1234", 0, recorder(drops));
  mb.push("old", "a", "5678", 1, recorder(drops));
  mb.push("new", "b", "abcd", 2, recorder(drops));
  CHECK(drops == Drops{{"a", "old"}});
  CHECK(mb.bytes() == 8);
  CHECK(mb.take("old").size() == 1);
  CHECK(mb.take("new").size() == 1);
}

TEST_CASE("a message bigger than the whole budget is dropped itself") {
  // Total 4 bytes, a 5-byte message: nothing stays queued.
  Mailboxes mb(100, 4, 5000);
  Drops drops;
  mb.push("x", "a", "12345", 0, recorder(drops));
  CHECK(mb.messages() == 0);
  CHECK(mb.ids() == 0);
  CHECK(drops == Drops{{"a", "x"}});
}
