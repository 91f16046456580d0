// Diagnostics on stderr: "prog: error: what: why".
//
// Every message is formatted first and written with one write(2), so lines
// from several processes never interleave. "error"/"warning" are coloured
// only when stderr is a terminal and NO_COLOR is unset.
#pragma once

#include <fmt/format.h>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace w::diag {

enum class Level { kError, kWarning, kInfo, kDebug };

/// Sets the prefix of every message (the program's name). Call once in main.
void set_program(std::string_view name);
const char* program();

/// -1 quiet (errors only), 0 normal (warnings and info), 1 verbose (debug).
void set_verbosity(int verbosity);
int verbosity();

/// Writes one line to stderr if `level` passes the verbosity.
void emit(Level level, std::string_view message);

template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  emit(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
  emit(Level::kWarning, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (verbosity() >= 0) emit(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (verbosity() >= 1) emit(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

/// A count and its noun for a message: "1 task", "3 tasks", "0 tasks".
/// Regular nouns only (the plural adds "s").
template <std::integral N>
std::string count(N n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

/// True when stderr is a terminal: progress lines are drawn only then.
bool stderr_is_tty();

/// Redraws a one-line progress display on a terminal ("\r...\x1b[K"); no-op
/// when stderr is not a terminal or verbosity is quiet. finish_progress()
/// ends the line.
void progress(std::string_view line);
void finish_progress();

}  // namespace w::diag
