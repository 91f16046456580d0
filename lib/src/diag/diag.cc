#include "w/diag.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace w::diag {
namespace {

std::string g_program = "wkit";
int g_verbosity = 0;
bool g_progress_shown = false;

void write_all(const std::string& s) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report to
    p += n;
    left -= static_cast<size_t>(n);
  }
}

bool use_colour() {
  static const bool colour = stderr_is_tty() && std::getenv("NO_COLOR") == nullptr;
  return colour;
}

}  // namespace

void set_program(std::string_view name) {
  g_program = name;
}
const char* program() {
  return g_program.c_str();
}
void set_verbosity(int verbosity) {
  g_verbosity = verbosity;
}
int verbosity() {
  return g_verbosity;
}

bool stderr_is_tty() {
  static const bool tty = ::isatty(STDERR_FILENO) == 1;
  return tty;
}

void emit(Level level, std::string_view message) {
  std::string line;
  if (g_progress_shown) {
    line += "\r\x1b[K";  // a message replaces the progress line; the next progress() redraws it
    g_progress_shown = false;
  }
  line += g_program;
  line += ": ";
  const bool colour = use_colour();
  switch (level) {
    case Level::kError:
      line += colour ? "\x1b[1;31merror:\x1b[0m " : "error: ";
      break;
    case Level::kWarning:
      line += colour ? "\x1b[1;35mwarning:\x1b[0m " : "warning: ";
      break;
    case Level::kInfo:
      break;
    case Level::kDebug:
      line += "debug: ";
      break;
  }
  line += message;
  line += '\n';
  write_all(line);
}

void progress(std::string_view text) {
  if (!stderr_is_tty() || g_verbosity < 0) return;
  std::string line = "\r";
  line += g_program;
  line += ": ";
  line += text;
  line += "\x1b[K";
  write_all(line);
  g_progress_shown = true;
}

void finish_progress() {
  if (!g_progress_shown) return;
  write_all("\n");
  g_progress_shown = false;
}

}  // namespace w::diag
