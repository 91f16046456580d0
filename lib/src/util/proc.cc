#include "w/proc.h"

#include <unistd.h>

#include <fstream>
#include <string>

namespace w::util {

std::optional<ProcessMemory> process_memory(std::string_view pid) {
  std::ifstream statm("/proc/" + std::string(pid) + "/statm");
  int64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return std::nullopt;
  const int64_t page = ::sysconf(_SC_PAGESIZE);
  return ProcessMemory{pages * page, resident * page};
}

}  // namespace w::util
