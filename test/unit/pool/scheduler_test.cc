#include "scheduler_fixture.h"

TEST_CASE("scheduler: an expired lease counts an attempt and its task goes before fresh ones") {
  // A worker takes three tasks of a 1 s campaign and sends nothing back; 6.5 s
  // later (1 s + 5 s grace) the first lease has expired: the task is offered
  // again ahead of the tasks never handed out, one attempt spent.
  Pool p;
  CampaignSpec spec;
  spec.timeout_ms = 1000;
  const int64_t c = p.campaign("c", 10, spec);
  p.join(1, 1);
  const auto first = p.given(1);
  REQUIRE(first.size() == 3);  // 1 slot + 2 prefetched
  p.tick(6500ms);
  CHECK(p.s->counters().requeues_total == 0);  // an expiry is a failed attempt, not a requeue
  const auto again = p.given(1);
  REQUIRE(!again.empty());
  CHECK(again.front() == first.front());
  CHECK(p.camp(c).row.failed == 0);
  auto attempts = p.store->queued_tasks(c, 0, 1);
  REQUIRE(attempts.ok());
  REQUIRE(attempts->size() == 1);
  CHECK(attempts->at(0).attempts == 1);
}

TEST_CASE("scheduler: a task fails for good after max_attempts failed attempts") {
  // Two attempts allowed: the lone worker fails the task twice; it is then
  // failed in the store and never handed out again.
  Pool p;
  CampaignSpec spec;
  spec.max_attempts = 2;
  const int64_t c = p.campaign("c", 1, spec);
  p.join(1, 1);
  const auto first = p.given(1);
  REQUIRE(first.size() == 1);
  p.result(1, first[0], {}, "boom");
  const auto retry = p.given(1);  // no other worker: the same one retries it
  REQUIRE(retry == first);
  CHECK(p.camp(c).row.failed == 0);
  p.result(1, first[0], {}, "boom again");
  CHECK(p.camp(c).row.failed == 1);
  CHECK(p.s->counters().failures_total == 1);
  CHECK(p.given(1).empty());
  REQUIRE(p.store->commit().ok());
  auto failures = p.store->failures(c, 10);
  REQUIRE(failures.ok());
  REQUIRE(failures->size() == 1);
  CHECK(failures->at(0).error.find("boom again") != std::string::npos);
}

TEST_CASE("scheduler: a failed task goes to another worker when there is one") {
  // Two idle workers; the one that got the task fails it: the retry goes to
  // the other, even though the first is offered work first again (no
  // speculative copy: the idle one would get it while the first runs it).
  Pool p;
  CampaignSpec spec;
  spec.speculate = false;
  const int64_t c = p.campaign("c", 1, spec);
  REQUIRE(p.s->set_state(c, "paused", p.now).ok());
  p.join(1, 1);
  p.join(2, 1);
  REQUIRE(p.s->set_state(c, "running", p.now).ok());
  p.collect();
  const w::net::ConnId first = p.tasks[1].empty() ? 2 : 1, other = 3 - first;
  const auto t = p.given(first);
  REQUIRE(t.size() == 1);
  CHECK(p.given(other).empty());
  p.result(first, t[0], {}, "boom");
  CHECK(p.given(first).empty());
  CHECK(p.given(other) == t);
}

TEST_CASE("scheduler: prefetch covers ~50 ms per slot once a worker has earned its slots") {
  // A new worker holds 4 tasks at most (its allowance); after 32 good
  // results of 10 ms it holds its slot plus 50/10 = 5 prefetched.
  Pool p;
  p.campaign("c", 200);
  p.join(1, 1);
  CHECK(p.held(1) == 3);  // unbound before: slots * 2 prefetched
  for (int i = 0; i < 40; ++i) {
    const auto& leases = p.s->workers().at(1).leases;
    int64_t oldest = INT64_MAX;
    for (const auto& [id, lease] : leases) oldest = std::min(oldest, id);
    p.result(1, oldest);
  }
  CHECK(p.held(1) == 6);
}

TEST_CASE("scheduler: near the end of a campaign no worker holds more than its share") {
  // Two workers on a campaign with few tasks left: the fast one, that
  // prefetches 5, holds no more than half of what is left.
  Pool p;
  const int64_t c = p.campaign("c", 60);
  p.join(1, 1);
  auto next_of = [&](w::net::ConnId conn) {
    int64_t oldest = INT64_MAX;
    for (const auto& [id, lease] : p.s->workers().at(conn).leases) oldest = std::min(oldest, id);
    return oldest;
  };
  for (int i = 0; i < 40; ++i) p.result(1, next_of(1));
  CHECK(p.held(1) == 6);
  p.join(2, 1);
  CHECK(p.held(2) == 3);
  while (p.camp(c).row.done < 52 && p.held(1) > 0) p.result(1, next_of(1));
  const int64_t open = p.camp(c).row.total - p.camp(c).row.done;
  CHECK(open == 8);
  CHECK(static_cast<int64_t>(p.held(1)) <= (open + 1) / 2);
}

TEST_CASE("scheduler: the campaign of highest priority is served first") {
  // Two campaigns, the later one of priority 5: a worker is bound to it and
  // gets its tasks; the other waits until it has none left.
  Pool p;
  const int64_t low = p.campaign("low", 2);
  CampaignSpec spec;
  spec.priority = 5;
  const int64_t high = p.campaign("high", 1, spec);
  p.join(1, 1);
  REQUIRE(p.binds[1].size() == 1);
  CHECK(p.binds[1][0].campaign == high);
  const auto t = p.given(1);
  REQUIRE(t.size() == 1);
  p.result(1, t[0]);
  REQUIRE(p.binds[1].size() == 2);
  CHECK(p.binds[1][1].campaign == low);
  CHECK(p.given(1).size() == 2);
}

TEST_CASE("scheduler: a group run starts only on K free slots, all members at once") {
  // A 2-member campaign: one worker with one slot runs nothing; a second
  // one makes two free slots and the run starts on both (ranks 0 and 1 of
  // one run id). A worker with two slots alone takes both members.
  Pool p;
  CampaignSpec spec;
  spec.group = 2;
  p.campaign("g", 2, spec);
  p.join(1, 1);
  CHECK(p.tasks[1].empty());
  p.join(2, 1);
  REQUIRE(p.tasks[1].size() == 1);
  REQUIRE(p.tasks[2].size() == 1);
  const TaskGrant a = p.tasks[1][0], b = p.tasks[2][0];
  CHECK(a.id == b.id);
  CHECK(a.group == b.group);
  CHECK(a.size == 2);
  CHECK(std::set<int>{a.rank, b.rank} == std::set<int>{0, 1});
  CHECK(p.s->groups().size() == 1);
  p.join(3, 2);
  REQUIRE(p.tasks[3].size() == 2);
  CHECK(p.tasks[3][0].group == p.tasks[3][1].group);
  CHECK(p.tasks[3][0].group != a.group);
}

TEST_CASE("scheduler: a lost member fails its group run, aborts the others and counts an attempt") {
  // Two workers run the two members of a task; one disconnects: the other
  // is told to abort that run, the run is gone and the task is queued again.
  Pool p;
  CampaignSpec spec;
  spec.group = 2;
  const int64_t c = p.campaign("g", 1, spec);
  p.join(1, 1);
  p.join(2, 1);
  REQUIRE(p.tasks[2].size() == 1);
  const std::string run = p.tasks[2][0].group;
  p.leave(1);
  REQUIRE(p.aborts[2].size() == 1);
  CHECK(p.aborts[2][0].group == run);
  CHECK(p.s->groups().empty());
  CHECK(p.s->counters().group_aborts_total == 1);
  CHECK(p.s->workers().at(2).members.empty());
  CHECK(p.camp(c).row.failed == 0);  // 3 attempts allowed: queued again
  CHECK(p.camp(c).has_work());
}

TEST_CASE("scheduler: a group run completes when every member's result is in") {
  // Both members return: the task is done, once, with both workers counted.
  Pool p;
  CampaignSpec spec;
  spec.group = 2;
  const int64_t c = p.campaign("g", 1, spec);
  p.join(1, 2);
  REQUIRE(p.tasks[1].size() == 2);
  const TaskGrant m0 = p.tasks[1][0], m1 = p.tasks[1][1];
  p.result(1, m0.id, "\x01", "", 10, m0.rank);
  CHECK(p.camp(c).row.done == 0);
  p.result(1, m1.id, "\x02", "", 10, m1.rank);
  CHECK(p.camp(c).row.done == 1);
  CHECK(p.s->groups().empty());
}

TEST_CASE("scheduler: a failed group run starts again from the latest step every member saved") {
  // Rank 0 saves steps 1 and 2, rank 1 only step 1: step 1 is kept. A state
  // from a worker that does not hold the member, or of a step already kept,
  // is ignored. The run fails; the next one gives each member its own state
  // of step 1.
  Pool p;
  CampaignSpec spec;
  spec.group = 2;
  p.campaign("g", 1, spec);
  p.join(1, 1);
  p.join(2, 1);
  REQUIRE(p.tasks[1].size() == 1);
  REQUIRE(p.tasks[2].size() == 1);
  const TaskGrant a = p.tasks[1][0], b = p.tasks[2][0];
  CHECK_FALSE(a.checkpoint);
  auto save = [&](w::net::ConnId conn, const TaskGrant& m, int64_t step, std::string_view data) {
    w::proto::Checkpoint cp{m.id, data};
    cp.rank = m.rank;
    cp.step = step;
    REQUIRE(p.s->checkpoint(conn, cp, p.now).ok());
  };
  save(1, a, 1, "a1");
  save(1, a, 2, "a2");
  CHECK(p.s->counters().checkpoints_total == 0);  // rank 1 has saved nothing yet
  save(2, b, 1, "b1");
  CHECK(p.s->counters().checkpoints_total == 1);
  save(1, b, 3, "not a's member");  // worker 1 does not hold rank b
  save(2, b, 1, "b1 again");        // step 1 is kept already
  CHECK(p.s->counters().checkpoints_ignored == 2);
  CHECK(p.s->counters().checkpoints_total == 1);

  p.leave(2);
  p.tasks[1].clear();
  p.join(3, 1);
  REQUIRE(p.tasks[1].size() == 1);
  REQUIRE(p.tasks[3].size() == 1);
  for (const TaskGrant& m : {p.tasks[1][0], p.tasks[3][0]}) {
    REQUIRE(m.checkpoint);
    CHECK(*m.checkpoint == (m.rank == a.rank ? "a1" : "b1"));
    CHECK(m.step == 1);
  }
}

TEST_CASE("scheduler: replicas agree by quorum and a worker that disagreed is flagged") {
  // Two replicas, both must agree. Workers 1 and 2 disagree, so a third
  // replica goes to worker 3; it agrees with worker 1: the task is done and
  // worker 2 is flagged (in memory and in the store).
  Pool p;
  CampaignSpec spec;
  spec.replicas = 2;
  spec.quorum = 2;
  const int64_t c = p.campaign("r", 1, spec);
  p.join(1, 1);
  p.join(2, 1);
  p.join(3, 1);
  const auto t1 = p.given(1), t2 = p.given(2);
  REQUIRE(t1.size() == 1);
  REQUIRE(t2 == t1);
  CHECK(p.given(3).empty());  // two replicas are enough while nobody disagrees
  p.result(1, t1[0], "\x01");
  p.result(2, t1[0], "\x02");
  CHECK(p.camp(c).row.done == 0);
  REQUIRE(p.given(3) == t1);
  p.result(3, t1[0], "\x01");
  CHECK(p.camp(c).row.done == 1);
  CHECK(p.s->workers().at(2).row.flagged);
  CHECK_FALSE(p.s->workers().at(1).row.flagged);
  CHECK(p.s->flagged_count() == 1);
  CHECK(p.s->counters().disagreements_total == 1);
  auto stored = p.store->worker("w2");
  REQUIRE(stored.ok());
  CHECK(stored->flagged);
  // The evidence: what w2 returned beside what the quorum accepted, when.
  auto evidence = p.store->flag_evidence("w2", 10);
  REQUIRE(evidence.ok());
  REQUIRE(evidence->size() == 1);
  CHECK(evidence->at(0).task == t1[0]);
  CHECK(evidence->at(0).at == kUnixNow);
  CHECK(evidence->at(0).output != evidence->at(0).accepted);
}

TEST_CASE("scheduler: a checkpoint is handed to the task's next lease") {
  // Worker 1 saves a checkpoint of its task and disconnects; worker 2 gets
  // the task with that state. A checkpoint from a worker without the lease
  // is ignored (worker 2 gets no speculative copy: the campaign has none).
  Pool p;
  CampaignSpec spec;
  spec.speculate = false;
  p.campaign("c", 1, spec);
  p.join(1, 1);
  const auto t = p.given(1);
  REQUIRE(t.size() == 1);
  p.join(2, 1);
  REQUIRE(p.s->checkpoint(2, w::proto::Checkpoint{t[0], "not yours"}, p.now).ok());
  CHECK(p.s->counters().checkpoints_ignored == 1);
  REQUIRE(p.s->checkpoint(1, w::proto::Checkpoint{t[0], "state"}, p.now).ok());
  CHECK(p.s->counters().checkpoints_total == 1);
  p.leave(1);
  REQUIRE(p.tasks[2].size() == 1);
  CHECK(p.tasks[2][0].id == t[0]);
  REQUIRE(p.tasks[2][0].checkpoint);
  CHECK(*p.tasks[2][0].checkpoint == "state");
}

TEST_CASE("scheduler: a draining worker gets no new tasks and its returned ones go first") {
  // Worker 1 holds three tasks and drains, returning the two it has not
  // started: it gets nothing more, even after its last result, and the two
  // go to worker 2 before any fresh task.
  Pool p;
  p.campaign("c", 10);
  p.join(1, 1);
  const auto held = p.given(1);
  REQUIRE(held.size() == 3);
  p.s->drain(1, w::proto::Bye{{held[1], held[2]}}, p.now);
  p.collect();
  CHECK(p.held(1) == 1);
  CHECK(p.s->counters().requeues_total == 2);
  p.result(1, held[0]);
  CHECK(p.given(1).empty());
  p.join(2, 1);
  const auto next = p.given(2);
  REQUIRE(next.size() >= 2);
  CHECK(std::set<int64_t>{next[0], next[1]} == std::set<int64_t>{held[1], held[2]});
}

TEST_CASE("scheduler: a silent worker is closed and its tasks go back") {
  // A worker heard of last more than worker_timeout (60 s) ago: the pool
  // closes its connection and its leases return to the queue, uncounted.
  Pool p;
  p.campaign("c", 2);
  p.join(1, 1);
  REQUIRE(p.given(1).size() == 2);
  p.tick(61s);
  REQUIRE(p.closes[1].size() == 1);
  CHECK(p.closes[1][0].code == 1001);
  CHECK(p.held(1) == 0);
  CHECK(p.s->counters().requeues_total == 2);
}

TEST_CASE("scheduler: a worker that fails far more than the others is quarantined for 60 s") {
  // Worker 2 returns 10 good results; worker 1 fails 8 tasks in a row: it
  // gets no task for 60 s (the fake clock moves), then it gets work again.
  Pool p(3600);  // nobody is dropped for silence while the clock jumps
  CampaignSpec spec;
  spec.max_attempts = 10;
  p.campaign("c", 100, spec);
  p.join(2, 1);
  for (int i = 0; i < 10; ++i) p.result(2, p.oldest(2));
  p.join(1, 1);
  for (int i = 0; i < 8 && p.oldest(1) != INT64_MAX; ++i) p.result(1, p.oldest(1), {}, "boom");
  REQUIRE(p.s->quarantines().count("w1") == 1);
  CHECK(p.s->counters().quarantines_total == 1);
  p.given(1);
  while (p.oldest(1) != INT64_MAX) p.result(1, p.oldest(1));  // what it still holds
  CHECK(p.given(1).empty());
  p.tick(30s);
  CHECK(p.given(1).empty());
  p.tick(31s);
  CHECK(!p.given(1).empty());
}

TEST_CASE("scheduler: a lost worker's tasks go back to the front, ahead of failed ones") {
  // Worker 2 fails a task (it waits at the back of the retries); worker 1
  // disconnects holding three: once worker 2 has room again (a result), its
  // next task is one of those three, not the failed one nor a fresh one.
  Pool p;
  p.campaign("c", 10);
  p.join(1, 1);
  const auto lost = p.given(1);
  REQUIRE(lost.size() == 3);
  p.join(2, 1);
  const auto mine = p.given(2);
  REQUIRE(mine.size() == 3);
  p.result(2, mine[0], {}, "boom");
  p.given(2);
  p.leave(1);
  CHECK(p.given(2).empty());  // it holds its allowance
  p.result(2, p.oldest(2));
  const auto next = p.given(2);
  REQUIRE(!next.empty());
  CHECK(std::find(lost.begin(), lost.end(), next[0]) != lost.end());
  CHECK(p.s->counters().requeues_total == 3);
}

TEST_CASE("scheduler: results wait for the commit and are stored together in the order they came") {
  Pool p;
  p.commit_each = false;
  const int64_t c = p.campaign("c", 10);
  p.join(1, 2);
  p.join(2, 2);
  const auto a = p.given(1), b = p.given(2);
  REQUIRE(a.size() >= 2);
  REQUIRE(b.size() >= 1);
  p.result(1, a[1], "\x11");
  p.result(2, b[0], "\x21");
  p.result(1, a[0], "\x10");
  // Nothing is in the store yet; the tasks are out of the leases and not
  // counted done, but not counted open either (the prefetch share).
  CHECK(p.s->results_pending());
  CHECK(p.store->results(c, 0, 100)->empty());
  CHECK(p.camp(c).row.done == 0);
  CHECK(p.camp(c).pending == 3);
  p.s->store_results();
  CHECK_FALSE(p.s->results_pending());
  CHECK(p.camp(c).row.done == 3);
  CHECK(p.camp(c).pending == 0);
  CHECK(p.s->workers().at(1).row.tasks_done == 2);
  auto rows = p.store->results(c, 0, 100);
  REQUIRE(rows->size() == 3);
  CHECK((*rows)[0].output == "\x11");
  CHECK((*rows)[1].output == "\x21");
  CHECK((*rows)[2].output == "\x10");
  // A worker that leaves with results waiting: they are stored before its
  // row, which counts them.
  REQUIRE_FALSE(p.s->workers().at(2).leases.empty());
  const int64_t next = p.s->workers().at(2).leases.begin()->first;
  p.result(2, next, "\x22");
  CHECK(p.s->results_pending());
  p.leave(2);
  CHECK_FALSE(p.s->results_pending());
  CHECK(p.store->results(c, 0, 100)->size() == 4);
  CHECK(p.camp(c).row.done == 4);
  CHECK(p.store->worker("w2")->tasks_done == 2);
}
