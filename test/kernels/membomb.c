/* Allocates and touches memory without bound, never checking malloc: the
 * address-space limit makes malloc fail, the write through NULL crashes,
 * and the worker must call it running out of memory. */
#include <string.h>

#include "w_kernel.h"

/* Each block escapes through here: without it, clang (the .wasm build)
 * sees blocks that are never read, removes malloc and memset, and leaves a
 * bare endless loop. */
static char *volatile last;

int w_main(const uint8_t *in, size_t n, w_out *out) {
  (void)in;
  (void)n;
  (void)out;
  for (;;) {
    char *p = (char *)malloc(1 << 20);
    memset(p, 1, 1 << 20);
    last = p;
  }
}
