#include "w/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

using namespace w;
using namespace w::store;

namespace {

// A fresh temporary directory, removed at the end; db files live in it.
struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wkit-sqlite-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  std::string file(const char* name) const { return (dir / name).string(); }
};

constexpr int kCreate = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

Database open_db(const std::string& path) {
  auto db = Database::open(path, kCreate);
  REQUIRE(db.ok());
  return std::move(*db);
}

int64_t count(Database& db, const char* table) {
  auto st = db.prepare(std::string("SELECT count(*) FROM ") + table);
  REQUIRE(st.ok());
  REQUIRE(st->step() == Step::kRow);
  return st->column_int64(0);
}

}  // namespace

TEST_CASE("sqlite_status maps SQLite's codes to what a caller can do") {
  CHECK(sqlite_status(SQLITE_OK, nullptr, "x").ok());
  CHECK(sqlite_status(SQLITE_DONE, nullptr, "x").ok());
  CHECK(sqlite_code(SQLITE_BUSY) == Code::kTempFail);
  CHECK(sqlite_code(SQLITE_BUSY_SNAPSHOT) == Code::kTempFail);
  CHECK(sqlite_code(SQLITE_LOCKED) == Code::kTempFail);
  CHECK(sqlite_code(SQLITE_INTERRUPT) == Code::kInterrupted);
  CHECK(sqlite_code(SQLITE_AUTH) == Code::kDenied);
  CHECK(sqlite_code(SQLITE_READONLY) == Code::kDenied);
  CHECK(sqlite_code(SQLITE_CANTOPEN_SYMLINK) == Code::kDenied);
  CHECK(sqlite_code(SQLITE_CANTOPEN) == Code::kIo);  // missing or forbidden: errno says
  CHECK(sqlite_code(SQLITE_CONSTRAINT_UNIQUE) == Code::kInvalid);
  CHECK(sqlite_code(SQLITE_NOTADB) == Code::kInvalid);
  CHECK(sqlite_code(SQLITE_IOERR_WRITE) == Code::kIo);
  Status s = sqlite_status(SQLITE_BUSY, nullptr, "store task");
  CHECK(s.message() == "store task: database is locked");
}

TEST_CASE("a statement binds and reads back every type") {
  TempDir t;
  Database db = open_db(t.file("a.db"));
  REQUIRE(db.exec("CREATE TABLE v(i INTEGER, big INTEGER, d REAL, s TEXT, b BLOB, n)").ok());
  auto ins = db.prepare("INSERT INTO v VALUES(?,?,?,?,?,?)");
  REQUIRE(ins.ok());
  const std::string blob("a\0b\xff", 4);
  ins->bind_int(1, -7);
  ins->bind_int64(2, int64_t{1} << 40);
  ins->bind_double(3, 2.5);
  ins->bind_text(4, "héllo");
  ins->bind_blob(5, blob);
  ins->bind_null(6);
  REQUIRE(ins->run("insert").ok());
  CHECK(db.last_insert_rowid() == 1);
  CHECK(db.changes() == 1);

  auto sel = db.prepare("SELECT i,big,d,s,b,n FROM v");
  REQUIRE(sel.ok());
  REQUIRE(sel->column_count() == 6);
  CHECK(std::string(sel->column_name(3)) == "s");
  REQUIRE(sel->step() == Step::kRow);
  CHECK(sel->column_int(0) == -7);
  CHECK(sel->column_int64(1) == (int64_t{1} << 40));
  CHECK(sel->column_double(2) == 2.5);
  CHECK(sel->column_type(3) == SQLITE_TEXT);
  CHECK(sel->column_text(3) == "héllo");
  CHECK(sel->column_type(4) == SQLITE_BLOB);
  CHECK(sel->column_blob(4) == blob);  // embedded NUL kept
  CHECK(sel->column_null(5));
  CHECK(sel->column_text(5).empty());
  CHECK(sel->step() == Step::kDone);
}

TEST_CASE("step walks every row, then is done") {
  TempDir t;
  Database db = open_db(t.file("a.db"));
  REQUIRE(db.exec("CREATE TABLE v(x); INSERT INTO v VALUES(1),(2),(3)").ok());
  auto sel = db.prepare("SELECT x FROM v ORDER BY x");
  REQUIRE(sel.ok());
  int64_t sum = 0, rows = 0;
  Step s;
  while ((s = sel->step()) == Step::kRow) {
    sum += sel->column_int64(0);
    ++rows;
  }
  CHECK(s == Step::kDone);
  CHECK(rows == 3);
  CHECK(sum == 6);
}

TEST_CASE("reset clears bindings and a failed bind is reported by step") {
  TempDir t;
  Database db = open_db(t.file("a.db"));
  REQUIRE(db.exec("CREATE TABLE v(x)").ok());
  auto ins = db.prepare("INSERT INTO v VALUES(?)");
  REQUIRE(ins.ok());
  ins->bind_int(1, 1);
  REQUIRE(ins->run("insert").ok());
  ins->reset();
  REQUIRE(ins->run("insert").ok());  // cleared: a NULL
  ins->reset();
  ins->bind_int(2, 5);  // no parameter 2
  CHECK(ins->step() == Step::kError);
  CHECK(ins->rc() == SQLITE_RANGE);
  CHECK(ins->status("insert").code() == Code::kInvalid);
  ins->reset();
  ins->bind_int(1, 3);
  REQUIRE(ins->run("insert").ok());  // the failed bind is forgotten after reset
  auto sel = db.prepare("SELECT count(*), count(x), sum(x) FROM v");
  REQUIRE(sel.ok());
  REQUIRE(sel->step() == Step::kRow);
  CHECK(sel->column_int(0) == 3);
  CHECK(sel->column_int(1) == 2);
  CHECK(sel->column_int(2) == 4);
}

TEST_CASE("prepare_rc gives SQLite's code and the text after the first statement") {
  TempDir t;
  Database db = open_db(t.file("a.db"));
  Statement st;
  std::string_view rest;
  CHECK(Statement::prepare_rc(db.get(), "SELECT 1; SELECT 2", 0, st, &rest) == SQLITE_OK);
  CHECK(st);
  CHECK(rest == " SELECT 2");
  CHECK(Statement::prepare_rc(db.get(), "SELECT 1", 0, st, &rest) == SQLITE_OK);
  CHECK(rest.empty());
  // Only a comment: no statement, and nothing is an error.
  CHECK(Statement::prepare_rc(db.get(), "-- nothing", 0, st, &rest) == SQLITE_OK);
  CHECK_FALSE(st);
  CHECK((Statement::prepare_rc(db.get(), "SELEC 1", 0, st) & 0xff) == SQLITE_ERROR);
  CHECK_FALSE(st);
  CHECK(Statement::prepare_rc(db.get(), "SELECT * FROM nowhere", 0, st) != SQLITE_OK);
  CHECK_FALSE(st);
}

TEST_CASE("a statement tells its parameters, whether it writes, and a failed bind at once") {
  TempDir t;
  Database db = open_db(t.file("a.db"));
  REQUIRE(db.exec("CREATE TABLE v(x)").ok());
  auto ins = db.prepare("INSERT INTO v VALUES(?), (:name)");
  REQUIRE(ins.ok());
  CHECK(ins->bind_parameter_count() == 2);
  CHECK(ins->bind_parameter_name(1) == nullptr);
  CHECK(std::string(ins->bind_parameter_name(2)) == ":name");
  CHECK_FALSE(ins->readonly());
  CHECK(ins->memory_used() > 0);
  CHECK(ins->bind_rc() == SQLITE_OK);
  sqlite3_limit(db.get(), SQLITE_LIMIT_LENGTH, 10);
  ins->bind_blob_copy(1, std::string(11, 'x'));
  CHECK(ins->bind_rc() == SQLITE_TOOBIG);
  ins->bind_int(2, 1);  // a later good bind keeps the first failure
  CHECK(ins->bind_rc() == SQLITE_TOOBIG);
  ins->reset();
  CHECK(ins->bind_rc() == SQLITE_OK);
  auto sel = db.prepare("SELECT 'abc', x'0102', 12345, NULL");
  REQUIRE(sel.ok());
  CHECK(sel->readonly());
  REQUIRE(sel->step() == Step::kRow);
  CHECK(sel->column_bytes(0) == 3);
  CHECK(sel->column_bytes(1) == 2);
  CHECK(sel->column_bytes(2) == 5);  // as text
  CHECK(sel->column_bytes(3) == 0);
  CHECK(sqlite3_value_type(sel->column_value(2)) == SQLITE_INTEGER);
}

TEST_CASE("step errors name what failed, with SQLite's message and code") {
  TempDir t;
  Database db = open_db(t.file("a.db"));
  REQUIRE(db.exec("CREATE TABLE u(k TEXT PRIMARY KEY)").ok());
  auto ins = db.prepare("INSERT INTO u VALUES(?)");
  REQUIRE(ins.ok());
  ins->bind_text(1, "a");
  REQUIRE(ins->run("insert").ok());
  ins->reset();
  ins->bind_text(1, "a");
  Status s = ins->run("insert key");
  CHECK(s.code() == Code::kInvalid);
  CHECK(s.message() == "insert key: UNIQUE constraint failed: u.k");

  auto bad = db.prepare("SELECT * FROM nowhere");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("no such table: nowhere") != std::string::npos);
  CHECK(bad.status().message().find(t.file("a.db")) != std::string::npos);
  auto empty = db.prepare("  -- nothing");
  CHECK(empty.status().code() == Code::kInvalid);

  auto sel = db.prepare("SELECT 1");
  REQUIRE(sel.ok());
  CHECK(sel->run("select").code() == Code::kInternal);  // a row where none was expected
}

TEST_CASE("open fails with the file's name and why") {
  TempDir t;
  auto missing = Database::open(t.file("none/a.db"), SQLITE_OPEN_READWRITE);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("none/a.db") != std::string::npos);

  if (::geteuid() != 0) {  // root opens anything
    std::filesystem::create_directory(t.file("closed"));
    ::chmod(t.file("closed").c_str(), 0);
    auto denied = Database::open(t.file("closed/a.db"), kCreate);
    CHECK(denied.status().code() == Code::kDenied);
    ::chmod(t.file("closed").c_str(), 0700);
  }

  std::filesystem::create_symlink(t.file("real.db"), t.file("link.db"));
  (void)open_db(t.file("real.db"));
  auto link = Database::open(t.file("link.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW);
  CHECK(link.status().code() == Code::kDenied);
}

TEST_CASE("cached statements are prepared once per literal") {
  TempDir t;
  Database db = open_db(t.file("a.db"));
  static constexpr const char* kSql = "SELECT ?+1";
  auto a = db.cached(kSql);
  REQUIRE(a.ok());
  {
    ResetOnExit r(**a);
    (*a)->bind_int(1, 41);
    REQUIRE((*a)->step() == Step::kRow);
    CHECK((*a)->column_int(0) == 42);
  }
  auto b = db.cached(kSql);
  REQUIRE(b.ok());
  CHECK(*a == *b);
  // Reset by the scope: runs again from the start with no binding (NULL).
  REQUIRE((*b)->step() == Step::kRow);
  CHECK((*b)->column_null(0));
  (*b)->reset();
  CHECK_FALSE(db.cached("SELECT nothing FROM nowhere").ok());

  Database moved = std::move(db);  // statements move with their connection
  auto c = moved.cached(kSql);
  REQUIRE(c.ok());
  CHECK(*c == *a);
}

TEST_CASE("a transaction commits, or rolls back at the end of its scope") {
  TempDir t;
  Database db = open_db(t.file("a.db"));
  REQUIRE(db.exec("CREATE TABLE v(x)").ok());
  {
    auto txn = Transaction::begin(db);
    REQUIRE(txn.ok());
    REQUIRE(db.exec("INSERT INTO v VALUES(1)").ok());
    REQUIRE(txn->commit().ok());
    CHECK_FALSE(txn->active());
    CHECK(txn->commit().code() == Code::kInternal);
  }
  {
    auto txn = Transaction::begin(db, Transaction::Mode::kDeferred);
    REQUIRE(txn.ok());
    REQUIRE(db.exec("INSERT INTO v VALUES(2)").ok());
  }  // not committed: rolled back
  CHECK(count(db, "v") == 1);
  CHECK(sqlite3_get_autocommit(db.get()) != 0);
  {
    auto txn = Transaction::begin(db);
    REQUIRE(txn.ok());
    REQUIRE(db.exec("INSERT INTO v VALUES(3)").ok());
    REQUIRE(txn->rollback().ok());
    CHECK_FALSE(txn->active());
  }
  CHECK(count(db, "v") == 1);
}

TEST_CASE("a second writer waits out the busy timeout, then fails as TempFail") {
  TempDir t;
  Database a = open_db(t.file("a.db"));
  REQUIRE(a.wal().ok());
  REQUIRE(a.exec("CREATE TABLE v(x)").ok());
  Database b = open_db(t.file("a.db"));
  b.busy_timeout(50);
  auto held = Transaction::begin(a);
  REQUIRE(held.ok());
  auto waiting = Transaction::begin(b);
  REQUIRE_FALSE(waiting.ok());
  CHECK(waiting.status().code() == Code::kTempFail);
  CHECK(waiting.status().message().find("database is locked") != std::string::npos);
  // WAL: the reader is not blocked by the writer.
  CHECK(count(b, "v") == 0);
  REQUIRE(held->commit().ok());
  auto now = Transaction::begin(b);
  REQUIRE(now.ok());
  REQUIRE(now->commit().ok());
}

TEST_CASE("wal refuses a database that cannot be in WAL mode") {
  auto mem = Database::open(":memory:", kCreate);
  REQUIRE(mem.ok());
  Status s = mem->wal();
  CHECK(s.code() == Code::kIo);
  CHECK(s.message().find("memory") != std::string::npos);
}
