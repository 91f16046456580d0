// Speculation at the end of a campaign (pool/speculate.cc), on the
// scheduler fixture: once a campaign's queue is empty, idle slots run
// copies of its oldest running tasks, first result wins.
#include "scheduler_fixture.h"

namespace {

// Adds `n` tasks to campaign `c` after the first ones, as a second submit does.
void add_tasks(Pool& p, int64_t c, int first_seq, int n) {
  for (int i = 0; i < n; ++i) REQUIRE(p.store->add_task(c, first_seq + i, kInput).ok());
  p.s->tasks_added(c, n, p.now);
  REQUIRE(p.store->commit().ok());
  p.collect();
}

// The campaign's stored results, in storage order.
std::vector<ResultRow> stored(Pool& p, int64_t c) {
  REQUIRE(p.store->commit().ok());
  auto r = p.store->results(c, 0, 100);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("scheduler: with its queue empty an idle worker runs a copy of the oldest running task") {
  // Worker 1 takes task A, a second later task B (a second submit): the
  // queue is then empty. Worker 2 joins: it gets a copy of A, the oldest.
  Pool p;
  const int64_t c = p.campaign("c", 1);
  p.join(1, 1);
  const auto a = p.given(1);
  REQUIRE(a.size() == 1);
  p.now += 1s;
  add_tasks(p, c, 1, 1);
  const auto b = p.given(1);
  REQUIRE(b.size() == 1);
  p.join(2, 1);
  CHECK(p.given(2) == a);
  CHECK(p.s->counters().speculative_copies_total == 1);
  CHECK(p.camp(c).leased == 2);  // a task and its copy are one task out
  CHECK(p.given(1).empty());
}

TEST_CASE("scheduler: the copy goes to the idle worker of highest score") {
  // Worker 1 runs the only task; the campaign pauses while workers of score
  // 500 and 3000 join; on resume the copy goes to the 3000 one only.
  Pool p;
  const int64_t c = p.campaign("c", 1);
  p.join(1, 1, 1000);
  const auto a = p.given(1);
  REQUIRE(a.size() == 1);
  REQUIRE(p.s->set_state(c, "paused", p.now).ok());
  p.join(2, 1, 500);
  p.join(3, 1, 3000);
  REQUIRE(p.s->set_state(c, "running", p.now).ok());
  p.collect();
  CHECK(p.given(3) == a);
  CHECK(p.given(2).empty());
  CHECK(p.s->counters().speculative_copies_total == 1);
}

TEST_CASE("scheduler: the first result of a task and its copy wins, the other is ignored") {
  // The copy (worker 2) returns first: its output is stored, a win. The
  // original's result comes later: ignored and counted, nothing stored twice,
  // and worker 1 is not failed or credited for it. Then the other way round.
  Pool p;
  const int64_t c = p.campaign("c", 1);
  p.join(1, 1);
  const auto a = p.given(1);
  p.join(2, 1);
  REQUIRE(p.given(2) == a);
  p.result(2, a[0], "\x02");
  CHECK(p.camp(c).row.done == 1);
  CHECK(p.s->counters().speculative_wins_total == 1);
  CHECK(p.held(1) == 0);
  CHECK(p.s->workers().at(1).busy() == 1);  // it still runs its copy: its slot stays taken
  p.result(1, a[0], "\x01");
  CHECK(p.camp(c).row.done == 1);
  CHECK(p.s->workers().at(1).busy() == 0);
  CHECK(p.s->counters().results_total == 1);
  CHECK(p.s->counters().speculative_discarded_total == 1);
  CHECK(p.s->workers().at(1).row.tasks_done == 0);
  auto rows = stored(p, c);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].output == "\x02");
  CHECK(rows[0].worker == "w2");

  // The original first (worker 3's, copied to worker 4): no win, and the
  // copy's late failure counts nothing.
  p.leave(1), p.leave(2);
  const int64_t e = p.campaign("e", 1);
  p.join(3, 1);
  const auto t = p.given(3);
  REQUIRE(t.size() == 1);
  p.join(4, 1);
  REQUIRE(p.given(4) == t);
  p.result(3, t[0], "\x03");
  p.result(4, t[0], {}, "boom");
  CHECK(p.camp(e).row.done == 1);
  CHECK(p.camp(e).row.failed == 0);
  CHECK(p.s->counters().speculative_wins_total == 1);
  CHECK(p.s->counters().speculative_discarded_total == 2);
  CHECK(p.s->counters().failures_total == 0);
  CHECK(p.s->workers().at(4).row.tasks_failed == 0);
  CHECK(stored(p, e).size() == 1);
}

TEST_CASE("scheduler: no copies for replicated or coupled campaigns, or with speculate off") {
  // Each campaign has one task more than its first workers take; a worker
  // that joins once the queue is empty gets nothing of it.
  SECTION("replicas") {
    Pool p;
    CampaignSpec spec;
    spec.replicas = 2;
    p.campaign("c", 1, spec);
    p.join(1, 1);
    p.join(2, 1);
    REQUIRE(p.given(1).size() == 1);
    REQUIRE(p.given(2).size() == 1);
    p.join(3, 1);
    CHECK(p.given(3).empty());
    CHECK(p.s->counters().speculative_copies_total == 0);
  }
  SECTION("group") {
    Pool p;
    CampaignSpec spec;
    spec.group = 2;
    p.campaign("c", 1, spec);
    p.join(1, 1);
    p.join(2, 1);
    REQUIRE(p.given(1).size() == 1);
    p.join(3, 1);
    CHECK(p.given(3).empty());
    CHECK(p.s->counters().speculative_copies_total == 0);
  }
  SECTION("--no-speculate") {
    Pool p;
    CampaignSpec spec;
    spec.speculate = false;
    p.campaign("c", 1, spec);
    p.join(1, 1);
    REQUIRE(p.given(1).size() == 1);
    p.join(2, 1);
    CHECK(p.given(2).empty());
    CHECK(p.s->counters().speculative_copies_total == 0);
  }
}

TEST_CASE("scheduler: a worker never gets a copy of a task it runs") {
  // One worker with 2 slots holds the only task, one slot idle: no copy of
  // it for that worker, however often it is topped up.
  Pool p;
  p.campaign("c", 1);
  p.join(1, 2);
  REQUIRE(p.given(1).size() == 1);
  p.tick(250ms);
  p.tick(250ms);
  CHECK(p.given(1).empty());
  CHECK(p.held(1) == 1);
  CHECK(p.s->counters().speculative_copies_total == 0);
}

TEST_CASE("scheduler: a copy's failure, expiry or loss leaves the other copy running") {
  // Worker 2's copy fails: no attempt counted, the task not requeued, worker
  // 1 still runs it and its result is stored. The same when worker 1's
  // lease expires first (the copy's result is stored) and when a copy's
  // worker disconnects.
  SECTION("failure") {
    Pool p;
    const int64_t c = p.campaign("c", 1);
    p.join(1, 1);
    const auto a = p.given(1);
    p.join(2, 1);
    REQUIRE(p.given(2) == a);
    p.result(2, a[0], {}, "boom");
    CHECK(p.held(1) == 1);
    CHECK(p.camp(c).row.failed == 0);
    CHECK(p.camp(c).requeued.empty());
    CHECK(p.given(2).empty());  // a task gets one copy, not one per failure
    auto q = p.store->queued_tasks(c, 0, 1);
    REQUIRE(q.ok());
    REQUIRE(q->size() == 1);
    CHECK(q->at(0).attempts == 0);
    p.result(1, a[0], "\x01");
    CHECK(p.camp(c).row.done == 1);
    CHECK(p.s->counters().speculative_wins_total == 0);
  }
  SECTION("expiry of the original") {
    Pool p(3600);
    CampaignSpec spec;
    spec.timeout_ms = 1000;
    const int64_t c = p.campaign("c", 1, spec);
    p.join(1, 1);
    const auto a = p.given(1);
    p.now += 3s;
    p.join(2, 1);  // its copy's deadline is 3 s after the original's
    REQUIRE(p.given(2) == a);
    p.tick(4s);  // 7 s: the original (1 s + 5 s grace) expired, not the copy
    CHECK(p.held(1) == 0);
    CHECK(p.held(2) == 1);
    CHECK(p.camp(c).requeued.empty());
    CHECK(p.given(1).empty());
    p.result(2, a[0], "\x02");
    CHECK(p.camp(c).row.done == 1);
    CHECK(p.camp(c).row.failed == 0);
    CHECK(stored(p, c).size() == 1);
  }
  SECTION("loss") {
    Pool p;
    const int64_t c = p.campaign("c", 1);
    p.join(1, 1);
    const auto a = p.given(1);
    p.join(2, 1);
    REQUIRE(p.given(2) == a);
    p.leave(1);
    CHECK(p.s->counters().requeues_total == 0);
    CHECK(p.camp(c).requeued.empty());
    CHECK(p.camp(c).leased == 1);
    p.result(2, a[0], "\x02");
    CHECK(p.camp(c).row.done == 1);
    CHECK(p.camp(c).leased == 0);
  }
}
