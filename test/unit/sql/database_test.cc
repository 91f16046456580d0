// wsql's Database on store::: the wire kinds error_from() derives from
// store::sqlite_code(), and prepare()'s one-statement rule.
#include "../../../lib/src/sql/database.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using namespace w;
using namespace w::sql;

namespace {

std::unique_ptr<Database> memory_db() {
  auto d = Database::open("t", ":memory:", true, DatabaseOptions{});
  REQUIRE(d.ok());
  return std::move(*d);
}

}  // namespace

TEST_CASE("error_from gives store's kinds the wire's names, with wsql's exceptions") {
  auto db = memory_db();
  // The kinds store::sqlite_code() gives, as the wire names them.
  CHECK(db->error_from(SQLITE_BUSY).code == Err::kBusy);
  CHECK(db->error_from(SQLITE_LOCKED_SHAREDCACHE).code == Err::kBusy);
  CHECK(db->error_from(SQLITE_INTERRUPT).code == Err::kTimeout);
  CHECK(db->error_from(SQLITE_INTERRUPT).message == "statement ran past its time budget");
  // AUTH is the one kDenied that is the capability's: the others are SQL errors.
  Error auth = db->error_from(SQLITE_AUTH);
  CHECK(auth.code == Err::kDenied);
  CHECK(auth.message.find("(the capability lacks the right)") != std::string::npos);
  CHECK(db->error_from(SQLITE_READONLY).code == Err::kSql);
  CHECK(db->error_from(SQLITE_PERM).code == Err::kSql);
  // TOOBIG is store's kInvalid and NOMEM its kIo: both too_big on the wire.
  CHECK(db->error_from(SQLITE_TOOBIG).code == Err::kTooBig);
  Error nomem = db->error_from(SQLITE_NOMEM);
  CHECK(nomem.code == Err::kTooBig);
  CHECK(nomem.message.find("--max-memory") != std::string::npos);
  // The rest of kInvalid and kIo are SQL errors.
  CHECK(db->error_from(SQLITE_CONSTRAINT_UNIQUE).code == Err::kSql);
  CHECK(db->error_from(SQLITE_IOERR_WRITE).code == Err::kSql);
}

TEST_CASE("prepare takes one statement and names a missing table not_found") {
  auto db = memory_db();
  store::Statement* st = nullptr;
  REQUIRE(db->prepare("SELECT 1;  ; \n", &st, true).ok());
  REQUIRE(st != nullptr);
  CHECK(st->step() == store::Step::kRow);
  CHECK(st->column_int(0) == 1);
  Error two = db->prepare("SELECT 1; SELECT 2", &st, true);
  CHECK(two.code == Err::kBadRequest);
  CHECK(two.message.find("one statement per request") != std::string::npos);
  CHECK(db->prepare("-- nothing", &st, true).code == Err::kBadRequest);
  Error missing = db->prepare("SELECT * FROM nowhere", &st, true);
  CHECK(missing.code == Err::kNotFound);
  CHECK(missing.message == "no such table: nowhere");
  // Without the rights to read, the authorizer refuses at prepare time.
  db->begin_request(RequestLimits{});
  CHECK(db->prepare("SELECT * FROM sqlite_schema", &st).code == Err::kDenied);
  db->end_request();
}
