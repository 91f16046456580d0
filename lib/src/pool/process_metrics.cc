#include "process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "w/proc.h"

namespace w::pool {
namespace {

// Fields 14, 15 (utime, stime) and 22 (starttime) of /proc/self/stat, in
// clock ticks. The command name (field 2) may hold spaces: read after its ')'.
bool read_stat(double& cpu_ticks, double& start_ticks) {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return false;
  std::istringstream rest(line.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
    if (i == 22) start_ticks = std::strtod(field.c_str(), nullptr);
  }
  cpu_ticks = utime + stime;
  return static_cast<bool>(rest);
}

// The boot time (btime of /proc/stat), Unix seconds; 0 if unknown.
double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n - 1;  // not the descriptor opendir held while it counted
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

void append_process_metrics(std::string& out) {
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double cpu = 0, start = 0;
  const bool stat_ok = read_stat(cpu, start) && tick > 0;
  if (stat_ok) {
    family(out, "process_cpu_seconds_total", "counter", "User and system CPU time, seconds.");
    out += fmt::format("process_cpu_seconds_total {:.2f}\n", cpu / tick);
  }
  if (const auto memory = util::process_memory()) {
    family(out, "process_resident_memory_bytes", "gauge", "Resident memory, bytes.");
    out += fmt::format("process_resident_memory_bytes {}\n", memory->resident_bytes);
    family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory, bytes.");
    out += fmt::format("process_virtual_memory_bytes {}\n", memory->virtual_bytes);
  }
  if (const int fds = open_fds(); fds >= 0) {
    family(out, "process_open_fds", "gauge", "Open file descriptors.");
    out += fmt::format("process_open_fds {}\n", fds);
  }
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    family(out, "process_max_fds", "gauge", "Limit of open file descriptors.");
    out += fmt::format("process_max_fds {}\n", limit.rlim_cur);
  }
  if (const double boot = boot_time(); stat_ok && boot > 0) {
    family(out, "process_start_time_seconds", "gauge", "Start time, Unix seconds.");
    out += fmt::format("process_start_time_seconds {:.2f}\n", boot + start / tick);
  }
}

}  // namespace w::pool
