/* Spins forever on any input: timeouts must stop it. */
#include "w_kernel.h"

int w_main(const uint8_t *in, size_t n, w_out *out) {
  (void)in;
  (void)n;
  (void)out;
  volatile unsigned long spin = 0;
  for (;;) spin++;
}
