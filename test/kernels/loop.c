/* Spins forever when the dataset's key is "loop": the worker's timeout
 * must kill the slot and fail only that task. */
#include <string.h>

#include "w_kernel.h"

int w_main(const uint8_t *in, size_t n, w_out *out) {
  if (n > 6 && in[0] == 0x81 && in[1] == 0xa4 && memcmp(in + 2, "loop", 4) == 0) {
    volatile unsigned long spin = 0;
    for (;;) spin++;
  }
  return w_out_write(out, in, n) == 0 ? 0 : 1;
}
