// pi — Monte Carlo estimate of pi: throw points in the unit square and
// count those inside the quarter circle; pi ≈ 4 · inside / samples summed
// over all seeds.
//
//   dataset {"seed": s}   static {"samples"?: n (default 1e6)}
//   → {"inside": k, "samples": n}
//
// The generator is written here, not taken from <random>: the same seed must
// give the same count on every platform, native and wasm, so a replica on
// another worker can be compared bit for bit.
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "w_kernel.hpp"

namespace {

struct Hits {
  uint64_t inside = 0;
  uint64_t samples = 0;
  MSGPACK_DEFINE_MAP(inside, samples);
};

// splitmix64 (Steele, Lea, Flood 2014): a counter through a mixer.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A uniform double in [0, 1) from the top 53 bits.
double unit(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  return static_cast<double>(mix(state) >> 11) * 0x1.0p-53;
}

Hits pi(const msgpack::object& in) {
  const double n = w::kernel::field<double>(w::kernel::static_data(), "samples", 1e6);
  if (!(n >= 1 && n <= 1e12 && n == std::floor(n)))
    throw std::runtime_error("samples must be a whole number from 1 to 1e12");
  // Mixed first: seeds s and s+1 taken raw would start the counter one
  // step apart and share all but one of their points.
  uint64_t state = mix(w::kernel::field<uint64_t>(in, "seed"));
  Hits hits{0, static_cast<uint64_t>(n)};
  for (uint64_t i = 0; i < hits.samples; ++i) {
    const double x = unit(state), y = unit(state);
    hits.inside += x * x + y * y < 1.0;
  }
  return hits;
}

}  // namespace

W_KERNEL(pi)
