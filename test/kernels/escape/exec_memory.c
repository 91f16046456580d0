#define _GNU_SOURCE
/* Makes memory executable after load (a JIT, or shellcode): refused. The
 * input's "how" picks the call: "mmap" or "mprotect". */
#include <string.h>
#include <sys/mman.h>

#include "w_kernel.h"

int w_main(const uint8_t *in, size_t n, w_out *out) {
  const int use_mmap = memmem(in, n, "mmap", 4) != 0;
  void *p;
  if (use_mmap) {
    p = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  } else {
    p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED && mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0) p = MAP_FAILED;
  }
  return p == MAP_FAILED ? w_fail(out, "refused") : w_fail(out, "executable memory was allowed");
}
