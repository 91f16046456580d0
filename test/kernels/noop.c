/* Does nothing and returns nothing: measures the worker's own overhead. */
#include "w_kernel.h"

int w_main(const uint8_t *in, size_t n, w_out *out) {
  (void)in;
  (void)n;
  (void)out;
  return 0;
}
