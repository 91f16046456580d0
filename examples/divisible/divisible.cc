// divisible — the Distribute.js tutorial kernel: which numbers in a range
// are multiples of the campaign's divisor. See README.md.
//
//   dataset {"min": a, "max": b}   static {"divisor": d}   →   [multiples of d in [a, b)]
#include <vector>

#include "w_kernel.hpp"

static std::vector<long long> divisible(const msgpack::object& in) {
  const long long lo = w::kernel::field<long long>(in, "min");
  const long long hi = w::kernel::field<long long>(in, "max");
  const long long d = w::kernel::field<long long>(w::kernel::static_data(), "divisor");
  if (d <= 0) throw std::runtime_error("divisor must be positive");
  // Step from the first multiple instead of testing every number: the same
  // answer as the tutorial's loop, d times fewer iterations.
  long long first = lo % d == 0 ? lo : lo + (d - ((lo % d) + d) % d);
  std::vector<long long> multiples;
  for (long long x = first; x < hi; x += d) multiples.push_back(x);
  return multiples;
}

W_KERNEL(divisible)
