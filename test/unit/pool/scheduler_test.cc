#include "../../../lib/src/pool/scheduler.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "w/diag.h"

// The scheduler's rules, one per test, driven by events with a fake clock
// (a time_point the test moves by hand) over a real store in a temporary
// file: no socket, no server, no wall clock.

using namespace w::pool;
using namespace std::chrono_literals;

namespace {

constexpr const char* kInput = "\x81\xa1x\x01";  // {"x": 1}
constexpr int64_t kUnixNow = 1'800'000'000;      // the fake wall clock

// The scheduler over a fresh pool file, and what it decided so far, by
// connection.
struct Pool {
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Scheduler> s;
  Clock::time_point now = Clock::time_point(1h);  // the fake clock
  std::map<w::net::ConnId, std::vector<TaskGrant>> tasks;
  std::map<w::net::ConnId, std::vector<BindCampaign>> binds;
  std::map<w::net::ConnId, std::vector<w::proto::Abort>> aborts;
  std::map<w::net::ConnId, std::vector<CloseConn>> closes;

  int verbosity = w::diag::verbosity();

  /// `worker_timeout`: seconds of silence before a worker is dropped.
  explicit Pool(double worker_timeout = 60) {
    w::diag::set_verbosity(-1);  // joins, flags and aborts are logged: not here
    std::string tmpl = (std::filesystem::temp_directory_path() / "wkit-sched-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    auto opened = Store::open((dir / "pool.db").string());
    REQUIRE(opened.ok());
    store = std::move(*opened);
    REQUIRE(store->put_kernel("sha", "k.so", "linux-x86_64", "ELF").ok());
    s = std::make_unique<Scheduler>(*store, worker_timeout, [] { return kUnixNow; });
    REQUIRE(s->load().ok());
  }
  ~Pool() {
    s.reset();
    store.reset();
    std::filesystem::remove_all(dir);
    w::diag::set_verbosity(verbosity);
  }

  // Opens a campaign and adds `n` tasks, as a submit does; returns its id.
  int64_t campaign(const std::string& name, int n, CampaignSpec spec = {}) {
    spec.name = name;
    spec.kernel_sha = "sha";
    auto id = store->create_campaign(spec);
    REQUIRE(id.ok());
    CampaignRow row;
    row.id = *id;
    row.spec = spec;
    row.state = "running";
    s->campaign_created(row);
    for (int i = 0; i < n; ++i) REQUIRE(store->add_task(*id, i, kInput).ok());
    s->tasks_added(*id, n, now);
    REQUIRE(store->commit().ok());
    collect();
    return *id;
  }
  void join(w::net::ConnId conn, int slots, double score = 1000, bool coupled = true) {
    WorkerRow row;
    row.id = "w" + std::to_string(conn);
    row.name = row.id;
    row.platform = "linux-x86_64";
    row.slots = slots;
    row.score = score;
    s->worker_joined(conn, row, coupled, "", now);
    collect();
  }
  void leave(w::net::ConnId conn) {
    s->worker_left(conn, now, 0);
    collect();
  }
  // One result (an error when `error` is set) for `task` from `conn`.
  void result(w::net::ConnId conn, int64_t task, std::string_view output = "\x01",
              const std::string& error = "", double ms = 10, std::optional<int> rank = {}) {
    w::proto::Results m;
    w::proto::ResultItem item;
    item.task = task;
    item.ok = error.empty();
    item.output = output;
    item.error = error;
    item.ms = ms;
    item.rank = rank;
    m.items.push_back(item);
    s->heard(conn, now);
    REQUIRE(s->results(conn, m, now).ok());
    collect();
  }
  void tick(Clock::duration later) {
    now += later;
    s->tick(now);
    collect();
  }
  void collect() {
    for (Decision& d : s->take_decisions()) {
      if (auto* t = std::get_if<SendTasks>(&d.action))
        for (auto& item : t->items) tasks[d.conn].push_back(std::move(item));
      else if (auto* b = std::get_if<BindCampaign>(&d.action))
        binds[d.conn].push_back(std::move(*b));
      else if (auto* a = std::get_if<w::proto::Abort>(&d.action))
        aborts[d.conn].push_back(std::move(*a));
      else if (auto* c = std::get_if<CloseConn>(&d.action))
        closes[d.conn].push_back(std::move(*c));
    }
  }
  // Task ids handed to `conn` since the last call.
  std::vector<int64_t> given(w::net::ConnId conn) {
    std::vector<int64_t> ids;
    for (const TaskGrant& t : tasks[conn]) ids.push_back(t.id);
    tasks[conn].clear();
    return ids;
  }
  // The lowest task id `conn` holds a lease of (INT64_MAX: none).
  int64_t oldest(w::net::ConnId conn) const {
    int64_t id = INT64_MAX;
    for (const auto& [task, lease] : s->workers().at(conn).leases) id = std::min(id, task);
    return id;
  }
  size_t held(w::net::ConnId conn) const { return s->workers().at(conn).leases.size(); }
  const Scheduler::Campaign& camp(int64_t id) const { return *s->campaign(id); }
};

}  // namespace

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

// Speculation (the end of a campaign): once a campaign's queue is empty,
// idle slots run copies of its oldest running tasks, first result wins.

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
