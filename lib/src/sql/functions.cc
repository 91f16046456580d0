// The function allow-list and the guarded functions (see functions.h).
#include "functions.h"

#include <strings.h>

#include <array>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "w/store.h"

namespace w::sql {
namespace {

// Reviewed one by one against pragma_function_list of SQLite 3.40 with the
// csvtable module loaded. Not here, so refused: load_extension, import_csv,
// fts3_tokenizer (a pointer from SQL), sqlite_log (writes the server's
// log), sqlite_compileoption_*, rtreenode/rtreedepth/rtreecheck (debug
// helpers that parse any blob), fts5() and fts5_source_id (internals), the
// FTS3 helpers (matchinfo, offsets, optimize: FTS3 tables are refused),
// and whatever a future SQLite or module adds.
constexpr const char* kAllowedFunctions[] = {
    // core scalar functions
    "abs", "changes", "char", "coalesce", "format", "glob", "hex", "ifnull", "iif", "instr",
    "last_insert_rowid", "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min",
    "nullif", "printf", "quote", "random", "randomblob", "replace", "round", "rtrim", "sign",
    "soundex", "substr", "substring", "total_changes", "trim", "typeof", "unicode", "unlikely",
    "upper", "zeroblob", "sqlite_version", "sqlite_source_id", "subtype",
    // aggregates (max, min above too)
    "avg", "count", "group_concat", "sum", "total",
    // date and time
    "date", "time", "datetime", "julianday", "strftime", "unixepoch", "current_date",
    "current_time", "current_timestamp",
    // math
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh",
    "degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians",
    "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
    // window functions
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
    // JSON
    "json", "json_array", "json_array_length", "json_extract", "json_insert", "json_object",
    "json_patch", "json_quote", "json_remove", "json_replace", "json_set", "json_type",
    "json_valid", "json_group_array", "json_group_object", "->", "->>",
    // FTS5 queries: the MATCH operator and the auxiliary functions
    "match", "bm25", "highlight", "snippet"};

// ---------------------------------------------------------------- instr

// instr(X, Y): the 1-based position of the first Y in X, in characters for
// text and bytes for blobs (0 if none, NULL if either is NULL). SQLite
// 3.40's loop compares at every character start; memmem() finds the same
// first match in linear time. A text match must start where SQLite's loop
// stands: at byte 0 or at a byte that is not a UTF-8 continuation byte.
void instr_func(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const int t0 = sqlite3_value_type(argv[0]), t1 = sqlite3_value_type(argv[1]);
  if (t0 == SQLITE_NULL || t1 == SQLITE_NULL) return;
  sqlite3_value* dup0 = nullptr;
  sqlite3_value* dup1 = nullptr;
  const unsigned char* hay;
  const unsigned char* needle;
  int nh, nn;
  const bool text = !(t0 == SQLITE_BLOB && t1 == SQLITE_BLOB);
  if (!text) {
    nh = sqlite3_value_bytes(argv[0]), nn = sqlite3_value_bytes(argv[1]);
    hay = static_cast<const unsigned char*>(sqlite3_value_blob(argv[0]));
    needle = static_cast<const unsigned char*>(sqlite3_value_blob(argv[1]));
  } else {
    // A blob beside text is read as text; copies keep argv unchanged.
    sqlite3_value* a = t0 == SQLITE_BLOB ? (dup0 = sqlite3_value_dup(argv[0])) : argv[0];
    sqlite3_value* b = t1 == SQLITE_BLOB ? (dup1 = sqlite3_value_dup(argv[1])) : argv[1];
    nh = sqlite3_value_bytes(a), nn = sqlite3_value_bytes(b);
    hay = a ? sqlite3_value_text(a) : nullptr;
    needle = b ? sqlite3_value_text(b) : nullptr;
  }
  int64_t at = 1;
  if (nn > 0) {
    if (!needle || (nh > 0 && !hay)) {
      sqlite3_value_free(dup0), sqlite3_value_free(dup1);
      return sqlite3_result_error_nomem(ctx);
    }
    const void* hit = nullptr;
    if (text && (needle[0] & 0xc0) == 0x80) {
      // Only byte 0 of the haystack is a place such a needle can start.
      hit = nn <= nh && std::memcmp(hay, needle, static_cast<size_t>(nn)) == 0 ? hay : nullptr;
    } else if (nn <= nh) {
      hit = memmem(hay, static_cast<size_t>(nh), needle, static_cast<size_t>(nn));
    }
    if (!hit) {
      at = 0;
    } else {
      const auto off = static_cast<const unsigned char*>(hit) - hay;
      at = 1;
      if (!text) {
        at += off;
      } else if (off > 0) {
        at += 1;  // byte 0 is a start whatever it is
        for (auto i = 1; i < off; ++i) at += (hay[i] & 0xc0) != 0x80;
      }
    }
  }
  sqlite3_value_free(dup0), sqlite3_value_free(dup1);
  sqlite3_result_int64(ctx, at);
}

// ---------------------------------------------------------------- replace

// replace(X, Y, Z): every Y in X (bytes of their text, left to right, not
// overlapping) replaced by Z; X itself (its type too) if Y starts with a
// NUL byte, NULL if any is NULL.
void replace_func(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const unsigned char* str = sqlite3_value_text(argv[0]);
  if (!str) return;
  const size_t ns = static_cast<size_t>(sqlite3_value_bytes(argv[0]));
  const unsigned char* pat = sqlite3_value_text(argv[1]);
  if (!pat) return;
  if (pat[0] == 0) return sqlite3_result_value(ctx, argv[0]);
  const size_t np = static_cast<size_t>(sqlite3_value_bytes(argv[1]));
  const unsigned char* rep = sqlite3_value_text(argv[2]);
  if (!rep) return;
  const size_t nr = static_cast<size_t>(sqlite3_value_bytes(argv[2]));
  const auto limit =
      static_cast<size_t>(sqlite3_limit(sqlite3_context_db_handle(ctx), SQLITE_LIMIT_LENGTH, -1));
  std::string out;
  size_t i = 0;
  while (i + np <= ns) {
    const void* hit = memmem(str + i, ns - i, pat, np);
    if (!hit) break;
    const auto at = static_cast<size_t>(static_cast<const unsigned char*>(hit) - str);
    if (out.size() + (at - i) + nr + (ns - at - np) > limit)
      return sqlite3_result_error_toobig(ctx);
    out.append(reinterpret_cast<const char*>(str + i), at - i);
    out.append(reinterpret_cast<const char*>(rep), nr);
    i = at + np;
  }
  out.append(reinterpret_cast<const char*>(str + i), ns - i);
  sqlite3_result_text64(ctx, out.data(), out.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

// ---------------------------------------------------------------- delegates

// Functions computed by SQLite's own code on the private connection, after
// the cost check. `sql` runs them on ?1, ?2 (, ?3).
struct Delegate {
  const char* name;
  int nargs;
  const char* sql;
  int kind;  // which cost rule (below)
};
enum { kLike, kGlob, kTrim, kJsonPatch };
constexpr Delegate kDelegates[] = {
    {"like", 2, "SELECT like(?1, ?2)", kLike},
    {"like", 3, "SELECT like(?1, ?2, ?3)", kLike},
    {"glob", 2, "SELECT glob(?1, ?2)", kGlob},
    {"trim", 2, "SELECT trim(?1, ?2)", kTrim},
    {"ltrim", 2, "SELECT ltrim(?1, ?2)", kTrim},
    {"rtrim", 2, "SELECT rtrim(?1, ?2)", kTrim},
    {"json_patch", 2, "SELECT json_patch(?1, ?2)", kJsonPatch},
};
constexpr size_t kNumDelegates = std::size(kDelegates);

bool has_any(sqlite3_value* v, const char* bytes) {
  const auto* p = sqlite3_value_text(v);
  return p && std::strpbrk(reinterpret_cast<const char*>(p), bytes) != nullptr;
}

// The work SQLite's version would do, as a product of sizes; 0 if linear.
uint64_t cost(int kind, sqlite3_value** argv) {
  const auto a = static_cast<uint64_t>(sqlite3_value_bytes(argv[0]));
  const auto b = static_cast<uint64_t>(sqlite3_value_bytes(argv[1]));
  switch (kind) {
    case kLike:  // like(pattern, text): backtracking only after a '%'
      return has_any(argv[0], "%") ? a * b : 0;
    case kGlob:
      return has_any(argv[0], "*[") ? a * b : 0;
    default:  // trim: text x characters to trim; json_patch: target x patch
      return a * b;
  }
}

}  // namespace

struct GuardedFunctions::Impl {
  store::Database priv;  // SQLite's own functions run here; closed last
  std::array<store::Statement, kNumDelegates> stmts;  // finalized before priv closes
};

namespace {

struct Call {
  GuardedFunctions::Impl* impl;
  size_t index;
};
void delegate_func(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* call = static_cast<Call*>(sqlite3_user_data(ctx));
  const Delegate& d = kDelegates[call->index];
  const uint64_t work = cost(d.kind, argv);
  const uint64_t most = d.kind == kJsonPatch ? kMaxJsonProduct : kMaxProduct;
  if (work > most) {
    const std::string why = fmt::format(
        "{}(): arguments of {} and {} bytes are too costly to compare (their product may be at "
        "most {})",
        d.name, sqlite3_value_bytes(argv[0]), sqlite3_value_bytes(argv[1]), most);
    sqlite3_result_error(ctx, why.c_str(), -1);
    return sqlite3_result_error_code(ctx, SQLITE_TOOBIG);
  }
  store::Statement& s = call->impl->stmts[call->index];
  for (int i = 0; i < argc; ++i) s.bind_value(i + 1, argv[i]);
  if (s.step() == store::Step::kRow) {
    sqlite3_result_value(ctx, s.column_value(0));
  } else {
    sqlite3* priv = call->impl->priv.get();
    sqlite3_result_error(ctx, sqlite3_errmsg(priv), -1);
    sqlite3_result_error_code(ctx, sqlite3_extended_errcode(priv));
  }
  s.reset();  // and its bindings cleared
}

}  // namespace

bool function_allowed(const char* name) {
  if (!name) return false;
  for (const char* f : kAllowedFunctions)
    if (strcasecmp(f, name) == 0) return true;
  return false;
}

Result<std::unique_ptr<GuardedFunctions>> GuardedFunctions::install(sqlite3* db) {
  std::unique_ptr<GuardedFunctions> g(new GuardedFunctions());
  g->impl_ = std::make_unique<Impl>();
  Impl& m = *g->impl_;
  auto priv = store::Database::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!priv.ok()) return Status::Internal("open the private connection for guarded functions");
  m.priv = std::move(*priv);
  // Results obey the same size limit as the connection they return to.
  sqlite3_limit(m.priv.get(), SQLITE_LIMIT_LENGTH, sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1));
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
  for (size_t i = 0; i < kNumDelegates; ++i) {
    if (store::Statement::prepare_rc(m.priv.get(), kDelegates[i].sql, SQLITE_PREPARE_PERSISTENT,
                                     m.stmts[i]) != SQLITE_OK)
      return Status::Internal(
          fmt::format("prepare {}: {}", kDelegates[i].sql, sqlite3_errmsg(m.priv.get())));
    // The Call records live as long as the GuardedFunctions (freed by
    // SQLite's destructor callback when the function is replaced or the
    // connection closes).
    auto* call = new Call{&m, i};
    if (sqlite3_create_function_v2(db, kDelegates[i].name, kDelegates[i].nargs, kFlags, call,
                                   delegate_func, nullptr, nullptr,
                                   [](void* p) { delete static_cast<Call*>(p); }) != SQLITE_OK)
      return Status::Internal(
          fmt::format("register {}: {}", kDelegates[i].name, sqlite3_errmsg(db)));
  }
  if (sqlite3_create_function_v2(db, "instr", 2, kFlags, nullptr, instr_func, nullptr, nullptr,
                                 nullptr) != SQLITE_OK ||
      sqlite3_create_function_v2(db, "replace", 3, kFlags, nullptr, replace_func, nullptr, nullptr,
                                 nullptr) != SQLITE_OK)
    return Status::Internal(fmt::format("register instr/replace: {}", sqlite3_errmsg(db)));
  return g;
}

GuardedFunctions::~GuardedFunctions() = default;

}  // namespace w::sql
