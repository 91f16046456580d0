// What Linux's /proc says of a process's memory, read in one place for the
// pool's /metrics (process_*) and the worker's heartbeats (load and RSS).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace w::util {

struct ProcessMemory {
  int64_t virtual_bytes = 0;
  int64_t resident_bytes = 0;
};

/// The memory of process `pid` ("self" or a number) from /proc/PID/statm,
/// in bytes; nullopt if the process is gone or /proc is not mounted.
std::optional<ProcessMemory> process_memory(std::string_view pid = "self");

}  // namespace w::util
