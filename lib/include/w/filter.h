// wrun's filter mode: datasets on stdin, result records on stdout.
#pragma once

#include <string>

#include "w/executor.h"
#include "w/status.h"
#include "w/stream.h"

namespace w::worker {

struct FilterOptions {
  std::string kernel;      ///< path to the kernel .so
  std::string static_arg;  ///< --static: a file name or a JSON text; empty for none
  int jobs = 1;
  int group = 1;        ///< --group K: each dataset runs as K coupled members (needs jobs >= K)
  double timeout = 60;  ///< seconds per task
  size_t memory_mb = 1024;
  bool keep_order = false;    ///< emit results in input order
  bool keep_going = false;    ///< do not stop at the first failed task
  bool include_input = true;  ///< copy each dataset into its result record
  bool seccomp = true;
  bool insecure_sandbox = false;  ///< --insecure-sandbox: seccomp alone without Landlock
  stream::Format format = stream::Format::kJson;
  int input_fd = 0;
  int output_fd = 1;
};

/// Runs the filter to the end of input. Ok only if every task succeeded;
/// Code::kFailed when some failed (each is also an error record on stdout).
Status run_filter(const FilterOptions& options);

}  // namespace w::worker
