/* Crashes (SIGSEGV) when the dataset's first key is "crash", else echoes:
 * the slot must die, its task fail with the signal, and the rest complete. */
#include <string.h>

#include "w_kernel.h"

int w_main(const uint8_t *in, size_t n, w_out *out) {
  /* 0x81 0xa5 "crash": a one-entry map whose key is "crash". */
  if (n > 7 && in[0] == 0x81 && in[1] == 0xa5 && memcmp(in + 2, "crash", 5) == 0) {
    volatile int *nowhere = (volatile int *)0;
    *nowhere = 1;
  }
  return w_out_write(out, in, n) == 0 ? 0 : 1;
}
