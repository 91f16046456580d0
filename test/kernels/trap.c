/* Traps on purpose, for the browser worker's fault tests: an input map
 * holding the string "unreachable" executes a trap instruction, one holding
 * "oob" reads far outside memory (a wasm out-of-bounds trap; SIGSEGV
 * natively). Any other input is returned unchanged. */
#include "w_kernel.h"

static int contains(const uint8_t *in, size_t n, const char *word) {
  size_t k = strlen(word);
  for (size_t i = 0; i + k <= n; ++i)
    if (memcmp(in + i, word, k) == 0) return 1;
  return 0;
}

int w_main(const uint8_t *in, size_t n, w_out *out) {
  if (contains(in, n, "unreachable")) __builtin_trap();
  if (contains(in, n, "oob")) {
    volatile const uint8_t *far = (volatile const uint8_t *)(uintptr_t)0xfffffff0u;
    return *far == 0 ? w_fail(out, "read nothing") : 1;
  }
  return w_out_write(out, in, n) == 0 ? 0 : 1;
}
