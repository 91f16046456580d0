// Coupled tasks in the Executor (ring.so): members start ahead of queued
// ordinary tasks, a failing member gives the others W_EGROUP, and
// abort_group stops a run without outcomes.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "../../../lib/src/sandbox/group.h"
#include "w/executor.h"
#include "w/msgpack.h"

using namespace w::sandbox;

namespace {

ExecutorConfig ring_config(int slots) {
  ExecutorConfig c;
  c.slot.kernel_path = std::string(W_KERNEL_DIR) + "/ring.so";
  c.slots = slots;
  c.timeout = 30;
  return c;
}

std::string json(const std::string& text) {
  std::string out;
  REQUIRE(w::mp::from_json(text, out).ok());
  return out;
}

Task member(uint64_t id, const std::string& group, int rank, int size, const std::string& input) {
  Task t{id, json(input), {}};
  t.group = group;
  t.rank = rank;
  t.size = size;
  return t;
}

std::vector<Outcome> wait_for(Executor& ex, size_t n, int max_ms = 20000) {
  std::vector<Outcome> all;
  for (int waited = 0; all.size() < n && waited < max_ms; waited += 50) {
    std::vector<Outcome> done;
    REQUIRE(ex.poll(50, done).ok());
    all.insert(all.end(), done.begin(), done.end());
  }
  return all;
}

}  // namespace

TEST_CASE("members start ahead of ordinary tasks submitted before them") {
  Executor ex(ring_config(2));
  REQUIRE(ex.start().ok());
  // Six slow ordinary tasks: two on each slot's queue, two waiting; then a group of 2.
  for (uint64_t i = 0; i < 6; ++i) ex.submit({i, json(R"({"rounds":0,"pause_ms":100})"), {}});
  ex.submit(member(10, "g1", 0, 2, R"({"x":7})"));
  ex.submit(member(10, "g1", 1, 2, R"({"x":7})"));
  CHECK_FALSE(ex.can_accept());
  auto all = wait_for(ex, 8);
  REQUIRE(all.size() == 8);
  std::map<uint64_t, size_t> first;  // id -> index of its first outcome
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].ok);
    first.emplace(all[i].id, i);
  }
  // The members started once the tasks already on the slots were done,
  // before the two that were waiting.
  CHECK(first[10] < first[4]);
  CHECK(first[10] < first[5]);
  for (const Outcome& o : all)
    if (o.id == 10) {
      CHECK(o.group == "g1");
      CHECK(o.output == json(o.rank == 0 ? "[7010,7011,7012]" : "[7000,7001,7002]"));
    }
  CHECK(ex.in_flight() == 0);
}

TEST_CASE("a member that crashes gives the others W_EGROUP") {
  Executor ex(ring_config(2));
  REQUIRE(ex.start().ok());
  ex.submit(member(1, "g2", 0, 2, R"({"x":1,"abort_rank":1})"));
  ex.submit(member(1, "g2", 1, 2, R"({"x":1,"abort_rank":1})"));
  auto all = wait_for(ex, 2);
  REQUIRE(all.size() == 2);
  for (const Outcome& o : all) {
    CHECK_FALSE(o.ok);
    if (o.rank == 1) CHECK(o.error == "crashed: SIGABRT (Aborted)");
    // Rank 0 is in w_send or w_recv when rank 1 dies, whichever comes first.
    if (o.rank == 0) CHECK_THAT(o.error, Catch::EndsWith("rank 1: a member of the group was lost"));
  }
}

TEST_CASE("abort_group stops a run's members without outcomes") {
  Executor ex(ring_config(3));
  REQUIRE(ex.start().ok());
  // Rank 0 sends nothing: rank 1 waits in w_recv, rank 0 in w_barrier.
  ex.submit(member(5, "g3", 0, 2, R"({"x":1,"mute_rank":0})"));
  ex.submit(member(5, "g3", 1, 2, R"({"x":1,"mute_rank":0})"));
  CHECK(wait_for(ex, 1, 300).empty());
  CHECK(ex.in_flight() == 2);
  CHECK(ex.abort_group("g3") == 2);
  CHECK(ex.in_flight() == 0);
  CHECK(ex.restarts() == 2);
  CHECK(wait_for(ex, 1, 200).empty());
  // The slots work again.
  ex.submit({6, json(R"({"rounds":0})"), {}});
  auto all = wait_for(ex, 1);
  REQUIRE(all.size() == 1);
  CHECK(all[0].ok);
}

TEST_CASE("a direct link carries only its peer's messages, barrier tokens and finish") {
  using namespace w::sandbox;
  CHECK(link_body_allowed(make_body(kBodyMessage, 1, "hello"), 1));
  CHECK(link_body_allowed(make_body(kBodyMessage, 1, ""), 1));
  CHECK(link_body_allowed(make_body(kBodyBarrier, 1, ""), 1));
  CHECK(link_body_allowed(make_body(kBodyFinished, 1, ""), 1));
  CHECK_FALSE(link_body_allowed(make_body(kBodyMessage, 2, "in rank 2's name"), 1));
  CHECK_FALSE(link_body_allowed(make_body(kBodyLinkOffer, 1, "10.0.0.1:9"), 1));  // by relay only
  CHECK_FALSE(link_body_allowed(make_body(kBodyBarrier, 1, "x"), 1));
  CHECK_FALSE(link_body_allowed(make_body(kBodyFinished, 1, "x"), 1));
  CHECK_FALSE(link_body_allowed(std::string("\x01\x01\x00\x00", 4), 1));  // no sender
  CHECK_FALSE(link_body_allowed(std::string("\x09\x01\x00\x00\x00", 5), 1));
  // The member's decoder of the same bytes on the link agrees.
  const std::string body = make_body(kBodyBarrier, 1, "x");
  std::string framed(4, '\0');
  framed[0] = static_cast<char>(body.size());
  framed += body;
  LinkHead head;
  CHECK(decode_link_head(framed, 1, 1024, head) == -1);
}
