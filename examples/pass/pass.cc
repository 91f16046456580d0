// The ring of w_kernel(3) and the README's coupled campaigns, as shown
// there: every member passes 100 + its rank to the next and gets one from
// the previous, then all meet at a barrier. Run as four members:
//   echo '{}' | wrun -k pass.so --group 4 -j 4 | jq -c .output   # [103,100,101,102]
#include "w_kernel.hpp"

static long long ring(const msgpack::object&) {
  int r = w::kernel::rank(), k = w::kernel::size();
  w::kernel::send((r + 1) % k, 100 + r);
  long long left = w::kernel::recv<long long>((r + k - 1) % k, 5000);
  w::kernel::barrier(5000);
  return left;
}
W_KERNEL(ring)
