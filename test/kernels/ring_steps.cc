// A coupled kernel that checkpoints (run with --group K): for `rounds` rounds
// each member sends x*1000 + rank*10 + round to rank+1, receives from rank-1
// (mod K), meets the others at a barrier, then saves [next round, what it
// received so far] and sleeps `sleep_ms`. A run restored from a checkpoint
// goes on from its round. It returns {"got": what it received, in order,
// "started": the round this attempt began at} - the same `got` however often
// the run was resumed.
#include <time.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "w_kernel.hpp"

struct Out {
  std::vector<long long> got;
  long long started = 0;
  MSGPACK_DEFINE_MAP(got, started);
};

static Out ring_steps(const msgpack::object& in) {
  const long long x = w::kernel::field<long long>(in, "x", 0);
  const long long rounds = w::kernel::field<long long>(in, "rounds", 8);
  const long long pause_ms = w::kernel::field<long long>(in, "sleep_ms", 0);
  const int rank = w::kernel::rank(), size = w::kernel::size();
  using State = std::tuple<long long, std::vector<long long>>;
  State state = w::kernel::restored<State>().value_or(State{0, {}});
  Out out;
  out.started = std::get<0>(state);
  out.got = std::get<1>(state);
  for (long long r = out.started; r < rounds; ++r) {
    w::kernel::send((rank + 1) % size, x * 1000 + rank * 10 + r);
    out.got.push_back(w::kernel::recv<long long>((rank + size - 1) % size, 20000));
    w::kernel::barrier(20000);
    w::kernel::checkpoint(State{r + 1, out.got});
    struct timespec ts = {static_cast<time_t>(pause_ms / 1000),
                          static_cast<long>(pause_ms % 1000) * 1000000L};
    nanosleep(&ts, nullptr);
  }
  return out;
}

W_KERNEL(ring_steps)
