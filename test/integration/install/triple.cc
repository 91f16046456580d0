// An out-of-tree kernel for the install test: built against the INSTALLED
// w_kernel.hpp, once with find_package(wkit) and once with pkg-config.
//   dataset {"x": n}   →   3n
#include "w_kernel.hpp"

static long long triple(const msgpack::object& in) {
  return 3 * w::kernel::field<long long>(in, "x");
}

W_KERNEL(triple)
