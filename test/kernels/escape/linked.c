/* A kernel that links a library of its own (lib_ctor.c, beside it). */
#include "w_kernel.h"

int escape_library_answer(void);

int w_main(const uint8_t *in, size_t n, w_out *out) {
  (void)in;
  (void)n;
  return escape_library_answer() == 42 ? w_out_write(out, "\xc3", 1) : w_fail(out, "no answer");
}
