// SQLite helpers shared by the store's files (store.cc, store_replicas.cc).
// Internal to lib/src/pool.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

namespace w::pool::store_sql {

inline std::string column_blob(sqlite3_stmt* st, int i) {
  const void* p = sqlite3_column_blob(st, i);
  int n = sqlite3_column_bytes(st, i);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

inline std::string column_text(sqlite3_stmt* st, int i) {
  const unsigned char* p = sqlite3_column_text(st, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}

// SQLITE_STATIC: SQLite reads the caller's bytes instead of copying them,
// so they must outlive the statement's steps: bind only what is declared
// before the statement's Reset (a copy per bound value was 5% of the pool's
// CPU with tiny tasks).
inline void bind_blob(sqlite3_stmt* st, int i, std::string_view b) {
  sqlite3_bind_blob(st, i, b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
}

inline void bind_text(sqlite3_stmt* st, int i, std::string_view s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

// Resets a cached statement when the caller is done with it.
struct Reset {
  sqlite3_stmt* st;
  ~Reset() {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
};

}  // namespace w::pool::store_sql
