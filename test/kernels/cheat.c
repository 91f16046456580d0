/* Echoes its input, like echo.c, unless the worker runs with W_TEST_CHEAT
 * set to a short non-empty value other than "0": then it returns the string
 * "cheat-<value>" instead, a wrong result (two cheaters with different
 * values disagree with each other too). Tests result verification with
 * replicas; the sandboxed slot inherits the worker's environment. */
#include <stdlib.h>
#include <string.h>

#include "w_kernel.h"

int w_main(const uint8_t *in, size_t n, w_out *out) {
  const char *cheat = getenv("W_TEST_CHEAT"); /* reads environ: no syscall */
  if (cheat && *cheat && strcmp(cheat, "0") != 0 && strlen(cheat) < 20) {
    uint8_t wrong[32];
    size_t len = strlen(cheat) + 6;
    wrong[0] = (uint8_t)(0xa0 | len); /* fixstr */
    memcpy(wrong + 1, "cheat-", 6);
    memcpy(wrong + 7, cheat, len - 6);
    return w_out_write(out, wrong, len + 1) == 0 ? 0 : 1;
  }
  return w_out_write(out, in, n) == 0 ? 0 : 1;
}
