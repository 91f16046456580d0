// A coupled kernel (run with --group K): for `rounds` rounds each member sends
// x*1000 + rank*10 + round to rank+1 and receives from rank-1 (mod K), then
// all meet at a barrier; it returns what it received, in order. Options:
// "abort_rank": that rank aborts (SIGABRT) before sending; "sleep_ms": sleep
// between rounds (time for a test to kill a worker mid-exchange);
// "timeout_ms": how long w_recv waits (default 20000; w_barrier waits 20 s); "mute_rank": that
// rank sends nothing (its neighbour's w_recv times out); "pause_ms": sleep
// before anything (with "rounds":0, a slow task that is not coupled).
#include <time.h>

#include <cstdlib>
#include <vector>

#include "w_kernel.hpp"

static void sleep_ms(long long ms) {
  struct timespec ts = {static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

static std::vector<long long> ring(const msgpack::object& in) {
  if (long long pause = w::kernel::field<long long>(in, "pause_ms", 0); pause > 0) sleep_ms(pause);
  const long long x =
      w::kernel::field<long long>(in, "x", w::kernel::field<long long>(in, "min", 0));
  const long long rounds = w::kernel::field<long long>(in, "rounds", 3);
  const long long pause_ms = w::kernel::field<long long>(in, "sleep_ms", 0);
  const int timeout_ms = w::kernel::field<int>(in, "timeout_ms", 20000);
  const int rank = w::kernel::rank(), size = w::kernel::size();
  if (w::kernel::field<long long>(in, "abort_rank", -1) == rank) std::abort();
  std::vector<long long> got;
  for (long long r = 0; r < rounds; ++r) {
    if (w::kernel::field<long long>(in, "mute_rank", -1) != rank)
      w::kernel::send((rank + 1) % size, x * 1000 + rank * 10 + r);
    got.push_back(w::kernel::recv<long long>((rank + size - 1) % size, timeout_ms));
    w::kernel::barrier(20000);
    if (pause_ms > 0) sleep_ms(pause_ms);
  }
  return got;
}

W_KERNEL(ring)
