// primes — the Distribute.js benchmark kernel: count (and optionally list)
// the primes in a range.
//
//   dataset {"min": a, "max": b, "list"?: bool}   static {"list"?: bool}
//   → {"count": n} or {"count": n, "primes": [...]}
//
// A segmented sieve: the primes up to sqrt(max) cross off their multiples
// window by window, so a chunk costs about (max - min) log log max wherever
// it starts, and memory stays at one window however wide the chunk is.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "w_kernel.hpp"

namespace {

constexpr uint64_t kWindow = 1 << 16;  // fits in L2 cache

struct Count {
  uint64_t count = 0;
  bool list = false;
  std::vector<uint64_t> primes;
  // Packed by hand: "primes" is present only when asked for.
  template <class Stream>
  void msgpack_pack(msgpack::packer<Stream>& pk) const {
    pk.pack_map(list ? 2 : 1);
    pk.pack("count").pack(count);
    if (list) pk.pack("primes").pack(primes);
  }
};

uint64_t isqrt(uint64_t n) {
  auto r = static_cast<uint64_t>(std::sqrt(static_cast<double>(n)));
  // The double can round to one off near a perfect square.
  while (r * r > n) --r;
  while ((r + 1) * (r + 1) <= n) ++r;
  return r;
}

std::vector<uint64_t> primes_upto(uint64_t n) {
  std::vector<bool> composite(n + 1, false);
  std::vector<uint64_t> primes;
  for (uint64_t p = 2; p <= n; ++p) {
    if (composite[p]) continue;
    primes.push_back(p);
    for (uint64_t m = p * p; m <= n; m += p) composite[m] = true;
  }
  return primes;
}

Count primes(const msgpack::object& in) {
  const auto lo = std::max<uint64_t>(w::kernel::field<uint64_t>(in, "min"), 2);
  const auto hi = w::kernel::field<uint64_t>(in, "max");
  if (hi > (uint64_t{1} << 50)) throw std::runtime_error("max is above 2^50");
  Count result;
  result.list = w::kernel::field<bool>(
      in, "list", w::kernel::field<bool>(w::kernel::static_data(), "list", false));
  const std::vector<uint64_t> base = primes_upto(hi > 0 ? isqrt(hi - 1) : 0);
  std::vector<char> composite;
  for (uint64_t start = lo; start < hi; start += kWindow) {
    const uint64_t end = std::min(hi, start + kWindow);
    composite.assign(end - start, 0);
    for (uint64_t p : base) {
      // Multiples below p*p were crossed off by smaller primes already.
      uint64_t m = std::max(p * p, (start + p - 1) / p * p);
      for (; m < end; m += p) composite[m - start] = 1;
    }
    for (uint64_t i = 0; i < end - start; ++i) {
      if (composite[i]) continue;
      ++result.count;
      if (result.list) result.primes.push_back(start + i);
    }
  }
  return result;
}

}  // namespace

W_KERNEL(primes)
