// wrun's pool mode: connect to a pool, run what it sends, send results back.
#pragma once

#include <string>

#include "w/status.h"

namespace w::worker {

struct PoolWorkerOptions {
  std::string pool;       ///< ws://host:port, wss://, http:// or https://
  std::string key;        ///< the pool's shared key, if it has one
  std::string cap;        ///< a capability with the 'work' right (wpool cap)
  std::string name;       ///< shown in `wpool workers`; default: host name
  std::string cache_dir;  ///< kernel artifacts by sha256; default ~/.cache/wkit
  std::string sig;        ///< wsig URL for coupled tasks' relay; overrides the pool's
  std::string link = "auto";  ///< direct links: auto, HOST or off (ExecutorRunnerOptions::link)
  std::string
      worker_key;  ///< this worker's identity (cache_dir/worker.key; set by run_pool_worker)
  int jobs = 1;
  size_t memory_mb = 1024;
  bool insecure_sandbox = false;  ///< --insecure-sandbox: seccomp alone without Landlock
  double score = 0;               ///< Dhrystones/s of this machine (0: unknown)
  bool reconnect = true;          ///< false: exit when the pool goes away
  /// Keep retrying an unreachable pool this long (seconds; 0: forever).
  /// Permanent failures (bad URL, unknown host, HTTP 4xx, TLS, denied) end
  /// at once.
  double retry_for = 0;
  /// Drain and exit (ok) after this many seconds with no task received and
  /// not done yet (0: never): a batch job's worker ends once the work is.
  double exit_idle = 0;
};

/// This machine's Dhrystone score, measured once and cached in the cache
/// directory (`measure(file)` does the work; wbench's cached_score).
double machine_score(const std::string& cache_dir, double (*measure)(const std::string& file));

/// Runs until SIGTERM/SIGINT (drains: finishes running tasks, hands back
/// the rest, exits ok; a second signal exits at once) or a refusal.
Status run_pool_worker(const PoolWorkerOptions& options);

}  // namespace w::worker
