// Prometheus' standard process metrics (process_resident_memory_bytes,
// process_cpu_seconds_total, process_open_fds, process_max_fds,
// process_start_time_seconds), read from /proc/self as the official
// client libraries do, so dashboards built for them work unchanged.
#pragma once

#include <string>

namespace w::pool {

/// Appends the process_* families (HELP, TYPE and one sample each) to `out`;
/// a value /proc cannot give is left out, never made up.
void append_process_metrics(std::string& out);

}  // namespace w::pool
