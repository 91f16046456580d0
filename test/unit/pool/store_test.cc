#include "../../../lib/src/pool/store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace w::pool;

namespace {

// A pool file in a fresh temporary directory, removed at the end.
struct TempDb {
  std::filesystem::path dir;
  std::string path;
  TempDb() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wkit-store-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    path = (dir / "pool.db").string();
  }
  ~TempDb() { std::filesystem::remove_all(dir); }
  std::unique_ptr<Store> open() const {
    auto s = Store::open(path);
    REQUIRE(s.ok());
    return std::move(*s);
  }
};

// A campaign with `n` tasks; returns the campaign id, task ids in `tasks`.
int64_t make_campaign(Store& s, int n, std::vector<int64_t>& tasks, int replicas = 1,
                      int quorum = 1) {
  REQUIRE(s.put_kernel("sha", "k.so", "linux-x86_64", "ELF").ok());
  CampaignSpec spec;
  spec.name = "c";
  spec.kernel_sha = "sha";
  spec.replicas = replicas;
  spec.quorum = quorum;
  auto cid = s.create_campaign(spec);
  REQUIRE(cid.ok());
  for (int i = 0; i < n; ++i) {
    auto t = s.add_task(*cid, i, "\x81\xa1x\x01");
    REQUIRE(t.ok());
    tasks.push_back(*t);
  }
  REQUIRE(s.commit().ok());
  return *cid;
}

// Takes a pool file back to schema version 5 (before the lean indexes), as
// a wpool of then wrote it.
constexpr const char* kBackToV5 = R"sql(
ALTER TABLE campaigns DROP COLUMN speculate;
DROP TABLE campaign_workers;
ALTER TABLE once_keys DROP COLUMN acked;
ALTER TABLE campaigns DROP COLUMN quorum_tolerance;
DROP TABLE flags;
DROP INDEX tasks_open;
DROP INDEX tasks_failed;
CREATE INDEX tasks_queued ON tasks(campaign, state, id);
CREATE TABLE results_v5(
  row INTEGER PRIMARY KEY, task INTEGER UNIQUE NOT NULL, campaign INTEGER NOT NULL,
  output BLOB, error TEXT, worker TEXT, platform TEXT, ms REAL);
INSERT INTO results_v5 SELECT * FROM results;
DROP TABLE results;
ALTER TABLE results_v5 RENAME TO results;
CREATE INDEX results_campaign ON results(campaign, row);
PRAGMA user_version=5;
)sql";

// A batch of results with a duplicate and a late one, on any store: each
// task's result is stored once (the first that came), the answer says
// which were new, and the results keep the batch's order.
void check_complete_batch(Store& s) {
  std::vector<int64_t> t;
  const int64_t cid = make_campaign(s, 4, t);
  auto early = s.complete_task(t[0], "\x01", "w1", "linux-x86_64", 1);
  REQUIRE(early.ok());
  REQUIRE(*early);
  REQUIRE(s.commit().ok());
  const std::vector<TaskResult> batch = {
      {t[2], "\x02", "w2", "linux-x86_64", 2.5},
      {t[0], "\x03", "w2", "linux-x86_64", 3},  // done before the batch
      {t[1], "\x04", "w2", "wasm32", 4},
      {t[2], "\x05", "w3", "linux-x86_64", 5},  // twice in the batch
  };
  auto stored = s.complete_tasks(batch);
  REQUIRE(stored.ok());
  CHECK(*stored == std::vector<bool>{true, false, true, false});
  auto none = s.complete_tasks({});
  REQUIRE(none.ok());
  CHECK(none->empty());
  REQUIRE(s.commit().ok());

  auto rows = s.results(cid, 0, 100);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK((*rows)[0].task == t[0]);
  CHECK((*rows)[0].output == "\x01");
  CHECK((*rows)[1].task == t[2]);  // in the batch's order, the first result of t[2]
  CHECK((*rows)[1].output == "\x02");
  CHECK((*rows)[1].worker == "w2");
  CHECK((*rows)[1].ms == 2.5);
  CHECK((*rows)[2].task == t[1]);
  CHECK((*rows)[2].platform == "wasm32");
  auto queued = s.queued_tasks(cid, 0, 10);
  REQUIRE(queued.ok());
  REQUIRE(queued->size() == 1);
  CHECK(queued->front().id == t[3]);
  auto campaigns = s.campaigns();
  REQUIRE(campaigns.ok());
  CHECK(campaigns->front().done == 3);

  // The same batch again: every task is done, nothing is stored.
  auto again = s.complete_tasks(batch);
  REQUIRE(again.ok());
  CHECK(*again == std::vector<bool>(4, false));
  REQUIRE(s.commit().ok());
  rows = s.results(cid, 0, 100);
  REQUIRE(rows.ok());
  CHECK(rows->size() == 3);
}

}  // namespace

TEST_CASE("store: a checkpoint is saved, replaced by the next one and survives a reopen") {
  // A worker checkpoints a task twice; after the pool restarts only the
  // second state is there, and the task is listed as checkpointed.
  TempDb db;
  std::vector<int64_t> tasks;
  {
    auto s = db.open();
    make_campaign(*s, 2, tasks);
    REQUIRE(s->load_checkpoint(tasks[0]).status().code() == w::Code::kNotFound);
    REQUIRE(s->save_checkpoint(tasks[0], std::string("\xc4\x01\x01", 3)).ok());
    REQUIRE(s->save_checkpoint(tasks[0], std::string("\xc4\x02\x02\x00", 4)).ok());
    REQUIRE(s->commit().ok());
  }
  auto s = db.open();
  auto data = s->load_checkpoint(tasks[0]);
  REQUIRE(data.ok());
  CHECK(*data == std::string("\xc4\x02\x02\x00", 4));
  auto listed = s->checkpointed_tasks();
  REQUIRE(listed.ok());
  CHECK(*listed == std::vector<int64_t>{tasks[0]});
  CHECK(s->load_checkpoint(tasks[1]).status().code() == w::Code::kNotFound);
}

TEST_CASE("store: an uncommitted checkpoint is not there after the pool dies") {
  // Group commit: a checkpoint written into the open transaction and never
  // committed (the pool was killed) is gone, the committed one stays.
  TempDb db;
  std::vector<int64_t> tasks;
  {
    auto s = db.open();
    make_campaign(*s, 1, tasks);
    REQUIRE(s->save_checkpoint(tasks[0], "one").ok());
    REQUIRE(s->commit().ok());
    REQUIRE(s->save_checkpoint(tasks[0], "two").ok());
    // A second connection sees only what was committed, as a restarted pool would.
    auto other = db.open();
    CHECK(*other->load_checkpoint(tasks[0]) == "one");
  }
}

TEST_CASE("store: deleting a checkpoint, and deleting its campaign, remove it") {
  // The pool deletes a task's checkpoint when the task is finished; a
  // deleted campaign takes its tasks' checkpoints with it.
  TempDb db;
  std::vector<int64_t> tasks;
  auto s = db.open();
  const int64_t cid = make_campaign(*s, 3, tasks);
  for (int64_t t : tasks) REQUIRE(s->save_checkpoint(t, "state").ok());
  REQUIRE(s->delete_checkpoint(tasks[1]).ok());
  REQUIRE(s->delete_checkpoint(tasks[1]).ok());  // again: nothing to do, no error
  CHECK(s->load_checkpoint(tasks[1]).status().code() == w::Code::kNotFound);
  CHECK(s->checkpointed_tasks()->size() == 2);
  REQUIRE(s->delete_campaign(cid).ok());
  REQUIRE(s->commit().ok());
  CHECK(s->checkpointed_tasks()->empty());
}

TEST_CASE("store: replica votes are kept per task and worker until deleted") {
  // Two workers vote on task 0 and one on task 1 of a replicated campaign;
  // a worker voting again on a task replaces its vote. After a reopen the
  // votes come back by task range; deleting a task's votes leaves the rest.
  TempDb db;
  std::vector<int64_t> tasks;
  int64_t cid;
  {
    auto s = db.open();
    cid = make_campaign(*s, 3, tasks, 2, 2);
    REQUIRE(s->add_vote(cid, {tasks[0], "a", "linux-x86_64", "\x01", 1.5}).ok());
    REQUIRE(s->add_vote(cid, {tasks[0], "b", "wasm32", "\x02", 2.5}).ok());
    REQUIRE(s->add_vote(cid, {tasks[1], "a", "linux-x86_64", "\x03", 1}).ok());
    REQUIRE(s->add_vote(cid, {tasks[1], "a", "linux-x86_64", "\x04", 1}).ok());
    REQUIRE(s->commit().ok());
  }
  auto s = db.open();
  auto all = s->votes(cid, tasks[0], tasks[2]);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].task == tasks[0]);
  CHECK((*all)[1].worker == "b");
  CHECK((*all)[1].platform == "wasm32");
  CHECK((*all)[1].output == "\x02");
  CHECK((*all)[1].ms == 2.5);
  CHECK((*all)[2].output == "\x04");
  CHECK(s->votes(cid, tasks[1], tasks[2])->size() == 1);
  CHECK(s->votes(cid + 1, tasks[0], tasks[2])->empty());
  REQUIRE(s->delete_votes(tasks[0]).ok());
  CHECK(s->votes(cid, tasks[0], tasks[2])->size() == 1);
  REQUIRE(s->delete_campaign(cid).ok());
  CHECK(s->votes(cid, tasks[0], tasks[2])->empty());
}

TEST_CASE("store: flagging a worker halves its score and survives its upserts") {
  // A worker disagreed twice: flagged, two disagreements, a quarter of its
  // score; reading it back by id gives the same, and an unknown id is NotFound.
  TempDb db;
  auto s = db.open();
  WorkerRow w;
  w.id = "cheat-1";
  w.name = "cheat";
  w.platform = "linux-x86_64";
  w.slots = 1;
  w.score = 1000;
  REQUIRE(s->upsert_worker(w).ok());
  REQUIRE(s->flag_worker("cheat-1").ok());
  REQUIRE(s->flag_worker("cheat-1").ok());
  REQUIRE(s->commit().ok());
  auto back = s->worker("cheat-1");
  REQUIRE(back.ok());
  CHECK(back->flagged);
  CHECK(back->disagreements == 2);
  CHECK(back->score == 250);
  CHECK(*s->flagged_workers() == std::vector<std::string>{"cheat-1"});
  CHECK(s->worker("nobody").status().code() == w::Code::kNotFound);
  // The server writes the row it holds back on disconnect: the counts stay.
  REQUIRE(s->upsert_worker(*back).ok());
  CHECK(s->worker("cheat-1")->disagreements == 2);
}

TEST_CASE("store: a replicated task is completed once, whoever reports the quorum") {
  // The accepted result is stored once; completing the task again (a late
  // replica) stores nothing, and failing it after that changes nothing.
  TempDb db;
  std::vector<int64_t> tasks;
  auto s = db.open();
  const int64_t cid = make_campaign(*s, 1, tasks, 2, 2);
  CHECK(*s->complete_task(tasks[0], "\x01", "a", "linux-x86_64", 1));
  CHECK_FALSE(*s->complete_task(tasks[0], "\x01", "b", "linux-x86_64", 1));
  CHECK_FALSE(*s->fail_attempt(tasks[0], "no quorum: x", 0, ""));
  auto rows = s->results(cid, 0, 10);
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].worker == "a");
}

TEST_CASE("store: a campaign's group size survives a reopen: older files get group 1") {
  TempDb db;
  {
    auto s = db.open();
    REQUIRE(s->put_kernel("sha", "k.so", "linux-x86_64", "ELF").ok());
    CampaignSpec spec;
    spec.name = "ring";
    spec.kernel_sha = "sha";
    spec.group = 4;
    REQUIRE(s->create_campaign(spec).ok());
    spec.name = "plain";
    spec.group = 1;
    REQUIRE(s->create_campaign(spec).ok());
    REQUIRE(s->commit().ok());
  }
  {
    auto s = db.open();
    auto rows = s->campaigns();
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[0].spec.group == 4);
    CHECK((*rows)[1].spec.group == 1);
  }
  // A file written before coupled campaigns (schema version 4) is brought up
  // to date: its campaigns are not coupled.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, kBackToV5, nullptr, nullptr, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "ALTER TABLE campaigns DROP COLUMN group_size; PRAGMA user_version=4",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto s = db.open();
  auto rows = s->campaigns();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].spec.group == 1);
}

TEST_CASE("store: a version 5 file keeps its tasks and results through the index migration") {
  TempDb db;
  std::vector<int64_t> tasks;
  {
    auto s = db.open();
    make_campaign(*s, 10, tasks);
    for (int i = 0; i < 4; ++i) REQUIRE(*s->complete_task(tasks[i], "\x07", "w1", "p", 1.5));
    REQUIRE(*s->fail_attempt(tasks[4], "boom", 1, "w1"));
    REQUIRE(s->commit().ok());
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, kBackToV5, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  auto s = db.open();
  auto rows = s->campaigns();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  const CampaignRow& c = (*rows)[0];
  CHECK(c.total == 10);
  CHECK(c.done == 4);
  CHECK(c.failed == 1);
  auto queued = s->queued_tasks(c.id, 0, 100);
  REQUIRE(queued.ok());
  REQUIRE(queued->size() == 5);
  CHECK(queued->front().id == tasks[5]);
  // Finishing a task twice stores one result, without UNIQUE(task) now.
  CHECK(*s->complete_task(tasks[5], "\x08", "w2", "p", 2));
  CHECK_FALSE(*s->complete_task(tasks[5], "\x09", "w2", "p", 2));
  REQUIRE(s->commit().ok());
  auto all = s->results(c.id, 0, 100);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 6);
  CHECK((*all)[4].error == "boom");
  CHECK((*all)[5].output == "\x08");
  // Pages: by offset, and by seeking past the previous page's last row.
  auto page1 = s->results(c.id, 0, 4);
  REQUIRE(page1.ok());
  REQUIRE(page1->size() == 4);
  auto page2 = s->results(c.id, 4, 4, page1->back().row);
  auto by_offset = s->results(c.id, 4, 4);
  REQUIRE(page2.ok());
  REQUIRE(by_offset.ok());
  REQUIRE(page2->size() == 2);
  REQUIRE(by_offset->size() == 2);
  CHECK((*page2)[0].task == (*by_offset)[0].task);
  CHECK((*page2)[1].task == tasks[5]);
}

TEST_CASE(
    "store: datasets count under their once-key, and a key of an older pool took all its input") {
  TempDb db;
  std::vector<int64_t> tasks;
  {
    auto s = db.open();
    const int64_t c = make_campaign(*s, 3, tasks);
    auto first = s->once_key_acked(c, "night-1");
    REQUIRE(first.ok());
    CHECK(*first == 0);
    REQUIRE(s->add_acked(c, "night-1", 1000).ok());
    REQUIRE(s->add_acked(c, "night-1", 234).ok());
    auto again = s->once_key_acked(c, "night-1");
    REQUIRE(again.ok());
    CHECK(*again == 1234);
    REQUIRE(s->add_campaign_worker(c, "k-1").ok());
    REQUIRE(s->add_campaign_worker(c, "k-1").ok());
    auto workers = s->campaign_workers(c);
    REQUIRE(workers.ok());
    CHECK(*workers == std::vector<std::string>{"k-1"});
    REQUIRE(s->commit().ok());
  }
  // A file of schema version 7 recorded keys without a count.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw,
                       "ALTER TABLE campaigns DROP COLUMN speculate;"
                       "DROP TABLE campaign_workers; ALTER TABLE once_keys DROP COLUMN acked;"
                       "PRAGMA user_version=7",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto s = db.open();
  auto old = s->once_key_acked(1, "night-1");
  REQUIRE(old.ok());
  CHECK(*old == -1);
}

TEST_CASE("store: a PostgreSQL database is shown without its password, a file as it is") {
  // wpool logs the store it serves: a password in --db must not reach it.
  CHECK(Store::shown("postgresql://wpool:s3cr%40t@db1:5432/pool") ==
        "postgresql://wpool:***@db1:5432/pool");
  CHECK(Store::shown("postgres://wpool@db1/pool?sslmode=require&password=x&a=b") ==
        "postgres://wpool@db1/pool?sslmode=require&password=***&a=b");
  CHECK(Store::shown("host=db1 password='a b\\' c' dbname=pool") ==
        "host=db1 password=*** dbname=pool");
  CHECK(Store::shown("host=db1 password = plain dbname=pool") ==
        "host=db1 password =*** dbname=pool");
  CHECK(Store::shown("pool.db") == "pool.db");
  CHECK(Store::shown("./pass=word.db") == "./pass=word.db");
}

TEST_CASE("store: a batch of results stores each task's first result once, on SQLite") {
  // A worker's message: a result twice, and one of a task already done.
  TempDb db;
  check_complete_batch(*db.open());
}

// Hidden: it needs a PostgreSQL database, W_TEST_PG (a fresh one: the
// campaign's name must be free). test/integration/store_postgres.sh starts
// a throwaway cluster and runs it.
TEST_CASE("store: a batch of results stores each task's first result once, on PostgreSQL",
          "[.postgres]") {
  // The same message as on SQLite, in one statement of arrays.
  const char* url = std::getenv("W_TEST_PG");
  if (url == nullptr) FAIL("W_TEST_PG: a fresh PostgreSQL database (store_postgres.sh gives one)");
  auto s = Store::open(url);
  REQUIRE(s.ok());
  check_complete_batch(**s);
}
