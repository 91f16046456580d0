// What the worker knows of its machine (host.cc).
#pragma once

#include <string>

#include "../proto/worker_messages.h"
#include "w/status.h"

namespace w::worker {

/// The host's load per CPU and the resident memory of this process and its
/// slot processes, for a heartbeat.
proto::Heartbeat self_report();
/// $XDG_CACHE_HOME/wkit, ~/.cache/wkit, or /tmp/wkit-cache.
std::string default_cache_dir();
/// mkdir -p.
Status make_dirs(const std::string& path);
/// The worker's identity key in `dir`, made on the first run.
Result<std::string> worker_key(const std::string& dir);

}  // namespace w::worker
