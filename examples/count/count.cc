// The C++ checkpoint example of w_kernel(3), as shown there: counts to the
// dataset's "steps", checkpointing after each step, and resumes from the
// last checkpoint when a lease is retried.
//   seq 5 | sed 's/.*/{"steps":&}/' | wrun -k count.so -j 2
#include "w_kernel.hpp"

static void do_step(long long) {}  // one step of the work

static long long count(const msgpack::object& in) {
  long long steps = w::kernel::field<long long>(in, "steps");
  long long i = w::kernel::restored<long long>().value_or(0);
  for (; i < steps; ++i) {
    do_step(i);
    w::kernel::checkpoint(i + 1);
  }
  return steps;
}
W_KERNEL(count)
