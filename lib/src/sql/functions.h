// The SQL functions a wsql client may call, and guarded versions of the
// built-ins whose cost grows with the product of their arguments' sizes.
//
// Allow-list: the authorizer (database.cc) lets a statement call only the
// functions in kAllowedFunctions: pure functions of their arguments,
// aggregates, window functions, JSON, math, date and time, FTS5's query
// helpers. Everything else SQLite or a loaded module registers is refused,
// so a new module cannot add a way out (csvtable's import_csv once read
// any file the server could read, its HMAC secret included). The list is
// the same whatever the rights: rights decide which tables a statement
// reaches, functions only compute on what it reached. test/integration/
// wsql_functions.sh asks a live server for every function it knows and
// checks each is on the list or refused.
//
// Guarded functions: a single call of a function runs inside one step of
// SQLite's virtual machine, where neither the progress handler nor
// sqlite3_interrupt() can stop it. Built-ins whose work is the product of
// two argument sizes could run for minutes inside one budget (instr() of a
// 100 kB needle in a 100 MB haystack: 466 s). So:
//   instr, replace           re-implemented with memmem(): linear, same results;
//   like, glob, json_patch,  refused with `too_big` when the product of the
//   trim/ltrim/rtrim (2 arg) sizes passes kMaxProduct, else computed by
//                            SQLite's own code on a private connection.
// Overriding like/glob turns off SQLite's LIKE optimization (a prefix
// pattern using an index); wsql trades that for a bound on one call.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>

#include "w/status.h"

namespace w::sql {

/// Most work one call of a guarded function may do: the product of its
/// text and pattern sizes (~0.5 s of SQLite's matcher on this machine).
inline constexpr uint64_t kMaxProduct = 250'000'000;
/// json_patch compares keys, not bytes: its product is allowed 80x more.
inline constexpr uint64_t kMaxJsonProduct = 20'000'000'000;

/// True if a client statement may call the function `name` (any case).
bool function_allowed(const char* name);

/// Registers the guarded functions on `db`. The returned object owns the
/// private connection the delegating ones run on; it must outlive `db`'s
/// use of them (keep it beside the connection, close it after).
class GuardedFunctions {
 public:
  static Result<std::unique_ptr<GuardedFunctions>> install(sqlite3* db);
  ~GuardedFunctions();
  GuardedFunctions(const GuardedFunctions&) = delete;
  GuardedFunctions& operator=(const GuardedFunctions&) = delete;

  struct Impl;

 private:
  GuardedFunctions() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace w::sql
