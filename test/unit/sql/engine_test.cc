#include "w/sql.h"

#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

using namespace w::sql;
using json = nlohmann::json;

namespace {

const std::string kSecret = "unit-test-secret-0123456789abcdef";

std::string cap_for(const std::string& db, uint32_t rights, int64_t expires = 0) {
  return w::cap::mint(w::cap::Capability{"wsql", db, rights, expires}, kSecret);
}

// An engine over a fresh directory with one database "t" holding table m.
struct Fixture {
  std::string dir;
  std::unique_ptr<Engine> engine;
  std::string all = cap_for("*", kAllRights);

  explicit Fixture(EngineConfig config = {}) {
    char tmpl[] = "/tmp/wsql_engine_test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    config.dir = dir;
    config.secret = kSecret;
    auto e = Engine::open(config);
    REQUIRE(e.ok());
    engine = std::move(*e);
    ok(R"J({"op":"create_db","db":"t"})J");
    ok(R"J({"op":"create","table":"m","columns":{"id":"INTEGER PRIMARY KEY","name":"TEXT UNIQUE","v":"REAL","b":"BLOB"}})J");
    ok(R"J({"op":"insert","table":"m","rows":[{"name":"a","v":1.5},{"name":"b","v":2.5}]})J");
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  json call(const std::string& request, const std::string& cap, const std::string& db = "t") {
    Engine::Reply r = engine->handle(request, false, db, cap);
    (void)engine->commit();
    return json::parse(r.bytes);
  }
  json call(const std::string& request) { return call(request, all); }
  json ok(const std::string& request) {
    json j = call(request);
    INFO(request << " -> " << j.dump());
    REQUIRE_FALSE(j.contains("error"));
    return j;
  }
  // The error code of a request expected to fail.
  std::string code(const std::string& request, const std::string& cap,
                   const std::string& db = "t") {
    json j = call(request, cap, db);
    INFO(request << " -> " << j.dump());
    REQUIRE(j.contains("error"));
    return j["error"]["code"];
  }
  std::string code(const std::string& request) { return code(request, all); }
  long long rows_in_m() { return ok(R"J({"op":"count","table":"m"})J")["count"]; }
};

}  // namespace

TEST_CASE("rows round-trip through insert and select, blobs included", "[sql]") {
  // A blob given as {"$b64"} comes back as {"$b64"}; where binds values.
  Fixture f;
  f.ok(R"J({"op":"insert","table":"m","row":{"name":"c","b":{"$b64":"AAH/"}}})J");
  json j = f.ok(
      R"J({"op":"select","table":"m","columns":["name","b"],"where":"name = ?","params":["c"]})J");
  CHECK(j["columns"] == json::parse(R"J(["name","b"])J"));
  CHECK(j["rows"] == json::parse(R"J([["c",{"$b64":"AAH/"}]])J"));
  j = f.ok(R"J({"op":"select","table":"m","order":"v DESC","limit":1,"offset":0,"id":7})J");
  CHECK(j["id"] == 7);
  CHECK(j["rows"][0][1] == "b");
  CHECK(f.rows_in_m() == 3);
}

TEST_CASE("update, delete, merge, drop and the sql operation", "[sql]") {
  // Each operation reports its changes; merge ignores duplicate keys.
  Fixture f;
  CHECK(f.ok(R"J({"op":"update","table":"m","set":{"v":9},"where":"name = ?","params":["a"]})J")
            ["changes"] == 1);
  CHECK(f.ok(R"J({"op":"sql","sql":"SELECT v FROM m WHERE name = ?","params":["a"]})J")["rows"][0]
                                                                                       [0] == 9.0);
  f.ok(
      R"J({"op":"create","table":"m2","columns":[["id","INTEGER PRIMARY KEY"],["name","TEXT"]]})J");
  f.ok(R"J({"op":"insert","table":"m2","columns":["id","name"],"rows":[[1,"dup"],[10,"new"]]})J");
  CHECK(f.ok(R"J({"op":"merge","table":"m","from":"m2"})J")["changes"] == 1);
  CHECK(f.rows_in_m() == 3);
  CHECK(f.ok(R"J({"op":"delete","table":"m","where":"v > ?","params":[5]})J")["changes"] == 1);
  CHECK(
      f.ok(R"J({"op":"sql","sql":"INSERT INTO m(name) VALUES (?)","params":["z"]})J")["changes"] ==
      1);
  f.ok(R"J({"op":"drop","table":"m2"})J");
  CHECK(f.code(R"J({"op":"drop","table":"m2"})J") == "not_found");
  CHECK(f.ok(R"J({"op":"drop","table":"m2","if_exists":true})J")["dropped"] == false);
}

TEST_CASE("forged, expired and wrong-database capabilities are refused", "[sql]") {
  // Nothing runs without a valid capability for this database.
  Fixture f;
  const std::string select = R"J({"op":"select","table":"m"})J";
  CHECK(f.code(select, "") == "denied");
  std::string forged = cap_for("t", kAllRights);
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  CHECK(f.code(select, forged) == "denied");
  CHECK(f.code(select, cap_for("t", kRead, 1000)) == "denied");
  CHECK(f.code(select, cap_for("other", kAllRights)) == "denied");
  CHECK(f.code(select, w::cap::mint({"wpool", "*", kAllRights, 0}, kSecret)) == "denied");
  CHECK(f.call(select, cap_for("t", kRead))["rows"].size() == 2);
}

TEST_CASE("rights are a mask: each operation needs its bits", "[sql]") {
  // PSciLab tested rights with && so every right passed; here read-only
  // cannot write, write-only cannot read, table needs the table bit.
  Fixture f;
  const std::string read = cap_for("t", kRead), write = cap_for("t", kWrite);
  CHECK(f.code(R"J({"op":"insert","table":"m","row":{"name":"x"}})J", read) == "denied");
  CHECK(f.code(R"J({"op":"select","table":"m"})J", write) == "denied");
  CHECK_FALSE(
      f.call(R"J({"op":"insert","table":"m","row":{"name":"x"}})J", write).contains("error"));
  CHECK(f.code(R"J({"op":"create","table":"n","columns":{"a":"INT"}})J", write) == "denied");
  CHECK(f.code(R"J({"op":"create_db","db":"u"})J", cap_for("u", kRead | kWrite | kTable), "u") ==
        "denied");
  CHECK(f.rows_in_m() == 3);
}

TEST_CASE("the authorizer refuses what the capability lacks inside raw SQL", "[sql]") {
  // The sql operation with a read capability cannot write, attach, load an
  // extension, change pragmas, or manage transactions.
  Fixture f;
  const std::string read = cap_for("t", kRead);
  auto sql = [&](const std::string& s, const std::string& cap) {
    return f.code(json{{"op", "sql"}, {"sql", s}}.dump(), cap);
  };
  CHECK(sql("DELETE FROM m", read) == "denied");
  CHECK(sql("UPDATE m SET v = 0", read) == "denied");
  CHECK(sql("DROP TABLE m", cap_for("t", kRead | kWrite)) == "denied");
  CHECK(sql("ATTACH '/tmp/x.db' AS x", f.all) == "denied");
  CHECK(sql("SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3_mod_csvtable.so')",
            f.all) != "");
  CHECK(sql("PRAGMA journal_mode=DELETE", f.all) == "denied");
  CHECK(sql("PRAGMA writable_schema=ON", f.all) == "denied");
  CHECK(sql("BEGIN", f.all) == "denied");
  CHECK(sql("CREATE TEMP TABLE x(a)", f.all) == "denied");
  CHECK(f.call(R"J({"op":"sql","sql":"PRAGMA table_info(m)"})J", read)["rows"].size() == 4);
  CHECK(f.rows_in_m() == 2);
  CHECK_FALSE(std::filesystem::exists("/tmp/x.db"));
}

TEST_CASE("where values cannot inject and fragments stay one statement", "[sql]") {
  // A value that looks like SQL is only a value; a second statement or a
  // comment swallowing our clause is refused; nothing changes.
  Fixture f;
  json j = f.ok(R"J({"op":"select","table":"m","where":"name = ?","params":["a' OR '1'='1"]})J");
  CHECK(j["rows"].empty());
  CHECK(f.code(R"J({"op":"select","table":"m","where":"1); DROP TABLE m; --"})J") == "bad_request");
  // A trailing comment ends at our newline; LIMIT still applies.
  CHECK(f.ok(R"J({"op":"select","table":"m","where":"1 --","limit":0})J")["rows"].empty());
  CHECK(f.code(R"J({"op":"select","table":"m","where":"name = ?"})J") == "bad_request");
  CHECK(f.code(R"J({"op":"select","table":"m","where":"name = :n","params":["a"]})J") ==
        "bad_request");
  CHECK(f.rows_in_m() == 2);
}

TEST_CASE("database names cannot leave the directory", "[sql]") {
  // ../, slashes and dots are refused before any file is touched.
  Fixture f;
  for (const char* name : {"../escape", "..", "a/b", ".hidden", "/etc/passwd"}) {
    CHECK(f.code(json{{"op", "create_db"}, {"db", name}}.dump()) == "bad_request");
    CHECK(f.code(R"J({"op":"tables"})J", f.all, name) == "bad_request");
  }
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(f.dir).parent_path() / "escape.db"));
  CHECK(f.code(R"J({"op":"tables"})J", f.all, "missing") == "not_found");
  CHECK_FALSE(std::filesystem::exists(f.dir + "/missing.db"));
}

TEST_CASE("malformed requests are answered with bad_request", "[sql]") {
  // Broken JSON, broken msgpack, unknown ops and fields, wrong types.
  Fixture f;
  CHECK(f.code("{not json") == "bad_request");
  CHECK(f.code("42") == "bad_request");
  CHECK(f.code(R"J({"op":"explode"})J") == "bad_request");
  CHECK(f.code(R"J({"op":"select","table":"m","wher":"1"})J") == "bad_request");
  CHECK(f.code(R"J({"op":"select","table":"m","limit":"ten"})J") == "bad_request");
  CHECK(f.code(R"J({"op":"create","table":"n","columns":{"a":"INT); DROP TABLE m; --"}})J") ==
        "bad_request");
  Engine::Reply r = f.engine->handle(std::string("\x82\xa2op\xc1", 5), true, "t", f.all);
  CHECK(r.error == "bad_request");
  json batch = f.call(R"J([{"op":"count","table":"m","id":1},{"op":"nope","id":2}])J");
  CHECK(batch[0]["count"] == 2);
  CHECK(batch[1]["id"] == 2);
  CHECK(batch[1]["error"]["code"] == "bad_request");
}

TEST_CASE("a batch insert is one transaction", "[sql]") {
  // A duplicate in the middle rolls back the whole batch, and says which row.
  Fixture f;
  json j =
      f.call(R"J({"op":"insert","table":"m","rows":[{"name":"x"},{"name":"a"},{"name":"y"}]})J");
  CHECK(j["error"]["code"] == "sql");
  CHECK(j["error"]["message"].get<std::string>().find("row 2") != std::string::npos);
  CHECK(f.rows_in_m() == 2);
  CHECK(
      f.ok(
          R"J({"op":"insert","table":"m","conflict":"ignore","rows":[{"name":"x"},{"name":"a"}]})J")
          ["changes"] == 1);
}

namespace {
// An insert of rows {name: n<i>, v: i} for i = 1..n, with `change` applied to row i.
std::string rows_request(int n, const std::function<void(int, json&)>& change,
                         const std::string& conflict = "") {
  json req = {{"op", "insert"}, {"table", "m"}, {"rows", json::array()}};
  if (!conflict.empty()) req["conflict"] = conflict;
  for (int i = 1; i <= n; ++i) {
    json row = {{"name", "n" + std::to_string(i)}, {"v", i}};
    change(i, row);
    req["rows"].push_back(row);
  }
  return req.dump();
}
}  // namespace

TEST_CASE("an insert of many rows (16 to a statement) names its failing row in any chunk",
          "[sql]") {
  Fixture f;
  // A duplicate in the second chunk of 16: nothing is written.
  json j = f.call(rows_request(40, [](int i, json& r) {
    if (i == 21) r["name"] = "a";
  }));
  CHECK(j["error"]["code"] == "sql");
  CHECK(j["error"]["message"].get<std::string>().find("row 21:") == 0);
  CHECK(f.rows_in_m() == 2);
  // A value SQLite cannot take, in the first chunk: named by row and column.
  j = f.call(rows_request(40, [](int i, json& r) {
    if (i == 18) r["v"] = 18446744073709551615ull;
  }));
  CHECK(j["error"]["message"].get<std::string>().find("row 18, column 'v'") == 0);
  CHECK(f.rows_in_m() == 2);
  // A row with other columns splits the chunks; every row lands once.
  j = f.ok(rows_request(40, [](int i, json& r) {
    if (i == 35) r.erase("v");
  }));
  CHECK(j["changes"] == 40);
  CHECK(f.rows_in_m() == 42);
  json sum = f.ok(
      R"J({"op":"sql","sql":"SELECT sum(v) AS s, count(v) AS c FROM m WHERE name LIKE 'n%'"})J");
  CHECK(sum["rows"][0][0] == 40 * 41 / 2 - 35);
  CHECK(sum["rows"][0][1] == 39);
  // conflict ignore: duplicates inside full chunks are skipped, and counted out.
  j = f.ok(rows_request(
      48,
      [](int i, json& r) { r["name"] = i == 5    ? "a"
                                       : i == 30 ? "b"
                                                 : "m" + std::to_string(i); },
      "ignore"));
  CHECK(j["changes"] == 46);
  CHECK(f.rows_in_m() == 42 + 46);
}

TEST_CASE("a statement past its time budget stops with timeout", "[sql]") {
  // An endless recursive query ends after --statement-timeout, and the
  // database works afterwards.
  EngineConfig c;
  c.timeout = 0.2;
  Fixture f(c);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(
      f.code(
          R"J({"op":"sql","sql":"WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"})J") ==
      "timeout");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  CHECK(f.rows_in_m() == 2);
}

TEST_CASE("a result past max_result stops with too_big", "[sql]") {
  // Rows are counted as they are packed; a huge answer is refused.
  EngineConfig c;
  c.max_result = 2000;
  Fixture f(c);
  CHECK(
      f.code(
          R"J({"op":"sql","sql":"WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r LIMIT 10000) SELECT i FROM r"})J") ==
      "too_big");
}

TEST_CASE("writes wait for the group commit", "[sql]") {
  // An insert's reply depends on the open group; another connection sees
  // the row only after commit().
  Fixture f;
  Engine::Reply r =
      f.engine->handle(R"J({"op":"insert","table":"m","row":{"name":"g"}})J", false, "t", f.all);
  REQUIRE(r.groups.size() == 1);
  CHECK(f.engine->outcome(r, nullptr) == Engine::Outcome::kWait);
  CHECK(f.engine->pending());
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open((f.dir + "/t.db").c_str(), &other) == SQLITE_OK);
  auto count = [&] {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(other, "SELECT count(*) FROM m", -1, &s, nullptr);
    sqlite3_step(s);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
  };
  CHECK(count() == 2);
  CHECK(f.engine->commit().empty());
  CHECK_FALSE(f.engine->pending());
  CHECK(f.engine->outcome(r, nullptr) == Engine::Outcome::kOk);
  CHECK(count() == 3);
  sqlite3_close(other);
  Engine::Reply read = f.engine->handle(R"J({"op":"count","table":"m"})J", false, "t", f.all);
  CHECK(read.groups.empty());
}

TEST_CASE("in-memory databases and CSV maps", "[sql]") {
  // --memory serves a scratch database; --map a read-only CSV table in
  // every database, which requests cannot write nor recreate elsewhere.
  char tmpl[] = "/tmp/wsql_csv.XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(tmpl) << "id,name\n1,alice\n2,\"bob, jr\"\n";
  EngineConfig c;
  c.memory = {"scratch"};
  c.maps = {{"people", tmpl}};
  Fixture f(c);
  f.call(R"J({"op":"create","table":"x","columns":{"a":"INT"}})J", f.all, "scratch");
  CHECK(f.call(R"J({"op":"insert","table":"x","row":{"a":1}})J", f.all, "scratch")["changes"] == 1);
  CHECK(f.ok(R"J({"op":"databases"})J")["databases"] == json::parse(R"J(["scratch","t"])J"));
  json j = f.ok(R"J({"op":"select","table":"people","where":"name LIKE ?","params":["bob%"]})J");
  CHECK(j["rows"][0][1] == "bob, jr");
  CHECK(f.ok(R"J({"op":"tables"})J")["tables"][1] ==
        json::parse(R"J({"name":"people","type":"csv"})J"));
  CHECK(f.code(R"J({"op":"insert","table":"people","row":{"id":3}})J") == "denied");
  CHECK(
      f.code(R"J({"op":"sql","sql":"CREATE VIRTUAL TABLE leak USING csvtable('/etc/passwd')"})J") ==
      "denied");
  CHECK(f.code(R"J({"op":"drop_db","db":"scratch"})J") == "bad_request");
  std::filesystem::remove(tmpl);
}

TEST_CASE("databases are created, listed per capability and dropped", "[sql]") {
  // create_db/drop_db need the db right; a one-database capability lists
  // only its database.
  Fixture f;
  f.ok(R"J({"op":"create_db","db":"u"})J");
  CHECK(f.code(R"J({"op":"create_db","db":"u"})J") == "exists");
  CHECK(f.call(R"J({"op":"databases"})J", cap_for("u", kRead))["databases"] ==
        json::parse(R"J(["u"])J"));
  f.ok(R"J({"op":"drop_db","db":"u"})J");
  CHECK_FALSE(std::filesystem::exists(f.dir + "/u.db"));
  CHECK(f.code(R"J({"op":"drop_db","db":"u"})J") == "not_found");
}

TEST_CASE("restrict mints a weaker capability", "[sql]") {
  // The server narrows a * capability to one database and fewer rights.
  Fixture f;
  json j = f.ok(R"J({"op":"restrict","rights":"read"})J");
  auto weak = w::cap::verify(j["cap"].get<std::string>(), kSecret);
  REQUIRE(weak.ok());
  CHECK(weak->object == "t");
  CHECK(weak->rights == kRead);
  std::string read_cap = j["cap"];
  json again = f.call(R"J({"op":"restrict","rights":"all","db":"other"})J", read_cap);
  CHECK(again["error"]["code"] == "denied");
}

namespace {

const char kEndless[] =
    R"J({"op":"sql","sql":"WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"})J";

// Polls until the submitted message `tag` comes back (at most `seconds`).
Engine::Reply wait_for(Engine& e, uint64_t tag, double seconds = 20) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    for (auto& [t, reply] : e.poll())
      if (t == tag) return std::move(reply);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  FAIL("message " << tag << " did not come back");
  return {};
}

}  // namespace

TEST_CASE("a batch's requests share one time budget", "[sql]") {
  // Four endless requests in one message stop at one budget, not four,
  // each answered timeout.
  EngineConfig c;
  c.timeout = 0.3;
  Fixture f(c);
  const std::string batch =
      std::string("[") + kEndless + "," + kEndless + "," + kEndless + "," + kEndless + "]";
  auto t0 = std::chrono::steady_clock::now();
  json j = json::parse(f.engine->handle(batch, false, "t", f.all).bytes);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  REQUIRE(j.size() == 4);
  for (const json& a : j) CHECK(a["error"]["code"] == "timeout");
}

TEST_CASE("max_result is for the whole answer of a batch", "[sql]") {
  // Two answers of 1.5 kB each under a 2 kB cap: the second is too_big.
  EngineConfig c;
  c.max_result = 2000;
  Fixture f(c);
  const std::string one = R"J({"op":"sql","sql":"SELECT zeroblob(1500)"})J";
  json j = json::parse(f.engine->handle("[" + one + "," + one + "]", false, "t", f.all).bytes);
  REQUIRE(j.size() == 2);
  CHECK(j[0].contains("rows"));
  CHECK(j[1]["error"]["code"] == "too_big");
}

TEST_CASE("a WebSocket message leaves the loop to compile, then runs in place", "[sql]") {
  // The first time a statement is seen it is compiled on the database's
  // worker (compiling can take seconds); once cached it runs on the loop.
  Fixture f;
  Engine::Reply r;
  const std::string q =
      R"J({"op":"sql","sql":"SELECT count(*) AS n FROM m WHERE v > ?","params":[0]})J";
  REQUIRE_FALSE(f.engine->submit(1, q, false, "t", f.all, false, r));
  CHECK(f.engine->in_flight() == 1);
  r = wait_for(*f.engine, 1);
  CHECK(json::parse(r.bytes)["rows"] == json::parse("[[2]]"));
  CHECK(f.engine->submit(2, q, false, "t", f.all, false, r));
  CHECK(json::parse(r.bytes)["rows"] == json::parse("[[2]]"));
  CHECK(f.engine->stats().handoffs == 1);
}

TEST_CASE("a slow WebSocket request does not hold other databases", "[sql]") {
  // While an endless query runs its budget on database t's worker, a
  // message for database u is answered at once; the slow one comes back
  // timeout, marked slow; a cancelled one is dropped.
  EngineConfig c;
  c.timeout = 1;
  Fixture f(c);
  f.ok(R"J({"op":"create_db","db":"u"})J");
  Engine::Reply r;
  REQUIRE_FALSE(f.engine->submit(1, kEndless, false, "t", f.all, false, r));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  f.ok(R"J({"op":"sql","sql":"SELECT 1"})J");  // compiled once, through handle()
  auto t0 = std::chrono::steady_clock::now();
  json quick = f.call(R"J({"op":"tables"})J", f.all, "u");
  CHECK(quick.contains("tables"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(300));
  r = wait_for(*f.engine, 1);
  CHECK(json::parse(r.bytes)["error"]["code"] == "timeout");
  CHECK(r.slow);
  // Cancelled (its connection closed): nothing comes back for it.
  REQUIRE_FALSE(f.engine->submit(2, kEndless, false, "t", f.all, true, r));
  f.engine->cancel(2);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.engine->in_flight() > 0 && std::chrono::steady_clock::now() < end) {
    CHECK(f.engine->poll().empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(f.engine->in_flight() == 0);
}
