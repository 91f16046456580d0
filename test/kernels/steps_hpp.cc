// The C++ form of steps.c, as in w_kernel(3)'s example: {"steps": S} runs S
// short steps, checkpointing the next step's number with msgpack-c after
// each, and returns [S, started] where started is where this attempt began.
#include <vector>

#include "w_kernel.hpp"

static std::vector<long long> steps(const msgpack::object& in) {
  const long long total = w::kernel::field<long long>(in, "steps");
  const long long started = w::kernel::restored<long long>().value_or(0);
  volatile long long sink = 0;
  for (long long i = started; i < total; ++i) {
    for (int k = 0; k < 100000; ++k) sink = sink + k;  // a step's work
    w::kernel::checkpoint(i + 1);
  }
  return {total, started};
}

W_KERNEL(steps)
