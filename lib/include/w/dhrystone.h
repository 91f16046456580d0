// Dhrystone 2.1 ("jdhrystone") node rating, native and (later) wasm.
#pragma once

#include <string>
#include <vector>

#include "w/status.h"

namespace w::bench {

struct DhrystoneResult {
  double dhrystones_per_second = 0;
  double dmips = 0;      ///< Dhrystones/s / 1757 (the VAX 11/780's score)
  long runs = 0;         ///< main-loop runs per measurement
  double seconds = 0;    ///< time of all measurements, >= the minimum asked for
  int measurements = 0;  ///< how many; the score is the fastest one's
};

/// Runs Dhrystone on this thread: calibrates the run count to a twentieth of
/// `min_seconds`, measures until `min_seconds` are spent and scores the
/// fastest measurement. Fails if a final value is not what Dhrystone says
/// it should be (a miscompiled or broken benchmark).
Result<DhrystoneResult> run_dhrystone(double min_seconds);

/// One Dhrystone per job in forked processes (Dhrystone uses globals), all
/// at once: the per-core scores of a loaded machine.
Result<std::vector<DhrystoneResult>> run_dhrystone_parallel(int jobs, double min_seconds);

struct WbenchOptions {
  double seconds = 2;
  int jobs = 1;
  bool json = false;
};
/// wbench(1): measures and prints to stdout.
Status run_wbench(const WbenchOptions& options);

/// This machine's score (total Dhrystones/s of one core), measured once and
/// cached in `cache_file`; 0 if it cannot be measured.
double cached_score(const std::string& cache_file);

}  // namespace w::bench
