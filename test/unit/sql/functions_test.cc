#include "../../../lib/src/sql/functions.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace w::sql;

namespace {

// Two connections: one with the guarded functions installed, one with
// SQLite's own, to compare answers.
struct Pair {
  sqlite3* guarded = nullptr;
  sqlite3* plain = nullptr;
  std::unique_ptr<GuardedFunctions> functions;

  Pair() {
    REQUIRE(sqlite3_open(":memory:", &guarded) == SQLITE_OK);
    REQUIRE(sqlite3_open(":memory:", &plain) == SQLITE_OK);
    auto f = GuardedFunctions::install(guarded);
    REQUIRE(f.ok());
    functions = std::move(*f);
  }
  ~Pair() {
    sqlite3_close(guarded);
    sqlite3_close(plain);
  }

  // "type:value" of `sql` with ?1.. bound to `args` (blobs when flagged),
  // or "error:code:message".
  static std::string eval(sqlite3* db, const std::string& sql,
                          const std::vector<std::pair<std::string, bool>>& args) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      return std::string("prepare:") + sqlite3_errmsg(db);
    for (size_t i = 0; i < args.size(); ++i) {
      const auto& [v, blob] = args[i];
      if (blob)
        sqlite3_bind_blob(s, static_cast<int>(i) + 1, v.data(), static_cast<int>(v.size()),
                          SQLITE_TRANSIENT);
      else
        sqlite3_bind_text(s, static_cast<int>(i) + 1, v.data(), static_cast<int>(v.size()),
                          SQLITE_TRANSIENT);
    }
    std::string out;
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      const int type = sqlite3_column_type(s, 0);
      const auto* p = static_cast<const char*>(sqlite3_column_blob(s, 0));
      out = std::to_string(type) + ":" + std::string(p ? p : "", sqlite3_column_bytes(s, 0));
    } else {
      out = "error:" + std::to_string(sqlite3_extended_errcode(db)) + ":" + sqlite3_errmsg(db);
    }
    sqlite3_finalize(s);
    return out;
  }
  std::string mine(const std::string& sql, const std::vector<std::pair<std::string, bool>>& a) {
    return eval(guarded, sql, a);
  }
  std::string theirs(const std::string& sql, const std::vector<std::pair<std::string, bool>>& a) {
    return eval(plain, sql, a);
  }
};

// Short strings over a small alphabet (with UTF-8 and stray continuation
// bytes) so that matches, overlaps and boundaries are frequent.
std::string random_text(std::mt19937& rng, size_t max_len) {
  static const std::vector<std::string> kPieces = {"a", "b",    "ab", "%", "_", "é", "\x80",
                                                   "x", "\xc3", "*",  "[", "]", " "};
  std::string s;
  const size_t n = rng() % (max_len + 1);
  while (s.size() < n) s += kPieces[rng() % kPieces.size()];
  return s;
}

}  // namespace

TEST_CASE("instr and replace give SQLite's answers, in linear time", "[sql]") {
  // Thousands of random texts and blobs: the re-implementations agree
  // with SQLite's own code on every one.
  Pair p;
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    const std::string a = random_text(rng, 12), b = random_text(rng, 4), c = random_text(rng, 3);
    const bool ba = rng() % 4 == 0, bb = rng() % 4 == 0;
    for (const char* sql : {"SELECT instr(?1, ?2)", "SELECT replace(?1, ?2, ?3)"}) {
      std::vector<std::pair<std::string, bool>> args = {{a, ba}, {b, bb}, {c, false}};
      if (std::string(sql).find("?3") == std::string::npos) args.pop_back();
      INFO(sql << " a=" << a << " b=" << b << " c=" << c << " blobs " << ba << bb);
      REQUIRE(p.mine(sql, args) == p.theirs(sql, args));
    }
  }
  // NULLs, numbers, the empty pattern.
  for (const char* sql :
       {"SELECT instr(NULL, 'a')", "SELECT instr('a', NULL)", "SELECT instr(12345, 34)",
        "SELECT instr('abc', '')", "SELECT replace('abc', '', 'x')",
        "SELECT replace(NULL, 'a', 'b')", "SELECT replace('aaa', 'a', NULL)",
        "SELECT replace(1.5, '.', ',')", "SELECT typeof(replace(5, '', 'x'))",
        "SELECT instr(x'00610062', x'62')"}) {
    INFO(sql);
    CHECK(p.mine(sql, {}) == p.theirs(sql, {}));
  }
}

TEST_CASE("a 100 kB needle in a 20 MB haystack is found at once", "[sql]") {
  // SQLite's instr compares the needle at every position (minutes here).
  Pair p;
  const std::string hay(20'000'000, 'a');
  const std::string needle = std::string(100'000, 'a') + "b";
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(p.mine("SELECT instr(?1, ?2)", {{hay, false}, {needle, false}}) == "1:0");
  CHECK(p.mine("SELECT instr(?1 || 'b', ?2)", {{hay, false}, {needle, false}}) == "1:19900001");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("like, glob, trim and json_patch delegate to SQLite below the cost bound", "[sql]") {
  // The answers are SQLite's own, NULLs and ESCAPE included; the JSON
  // subtype survives (json_object nests the patch, not its text).
  Pair p;
  std::mt19937 rng(777);
  for (int i = 0; i < 5000; ++i) {
    const std::string a = random_text(rng, 10), b = random_text(rng, 5);
    for (const char* sql :
         {"SELECT ?2 LIKE ?1", "SELECT ?2 GLOB ?1", "SELECT trim(?1, ?2)", "SELECT ltrim(?1, ?2)",
          "SELECT rtrim(?1, ?2)", "SELECT ?2 LIKE ?1 ESCAPE 'x'"}) {
      INFO(sql << " a=" << a << " b=" << b);
      REQUIRE(p.mine(sql, {{a, false}, {b, false}}) == p.theirs(sql, {{a, false}, {b, false}}));
    }
  }
  for (const char* sql : {"SELECT json_object('a', json_patch('{}', '{\"b\":1}'))",
                          "SELECT json_patch('{\"a\":1}', NULL)", "SELECT 'x' LIKE NULL",
                          "SELECT 'x' LIKE 'x' ESCAPE 'ab'", "SELECT trim('  a  ')"}) {
    INFO(sql);
    CHECK(p.mine(sql, {}) == p.theirs(sql, {}));
  }
  CHECK(p.mine("SELECT json_object('a', json_patch('{}', '{\"b\":1}'))", {}) ==
        "3:{\"a\":{\"b\":1}}");
}

TEST_CASE("costly like, glob, trim and json_patch calls are refused at once", "[sql]") {
  // The product of the sizes passes kMaxProduct: SQLITE_TOOBIG with a
  // message, in no time; a pattern without wildcards costs nothing.
  Pair p;
  const std::string text(10'000'000, 'a');
  const std::string pattern = "%" + std::string(1000, 'a') + "b%";
  const auto t0 = std::chrono::steady_clock::now();
  std::string r = p.mine("SELECT ?2 LIKE ?1", {{pattern, false}, {text, false}});
  CHECK(r.rfind("error:18:like(): arguments of", 0) == 0);
  r = p.mine("SELECT ?2 GLOB ?1", {{"*" + std::string(1000, 'a') + "b*", false}, {text, false}});
  CHECK(r.rfind("error:18:glob()", 0) == 0);
  r = p.mine("SELECT trim(?1, ?2)", {{text, false}, {std::string(1000, 'b'), false}});
  CHECK(r.rfind("error:18:trim()", 0) == 0);
  CHECK(p.mine("SELECT ?2 LIKE ?1", {{std::string(1000, 'a'), false}, {text, false}}) == "1:0");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("the function allow-list", "[sql]") {
  // What reads files, loads code or writes the log is not on it; ordinary
  // functions are, in any case.
  for (const char* name : {"import_csv", "load_extension", "fts3_tokenizer", "sqlite_log",
                           "readfile", "writefile", "edit", "rtreenode", "fts5", ""})
    CHECK_FALSE(function_allowed(name));
  CHECK_FALSE(function_allowed(nullptr));
  for (const char* name : {"abs", "LOWER", "json_extract", "->>", "row_number", "like", "match"})
    CHECK(function_allowed(name));
}
