/* Sleeps 50 ms per task, times W_TEST_SLOWDOWN when its worker's environment
 * sets it (a slow worker, deterministically: the speculation test gives one
 * worker of three a slowdown), and returns its input. Sleeping, not
 * computing: the time does not depend on how busy the machine's cores are. */
#include <stdlib.h>
#include <time.h>

#include "w_kernel.h"

int w_main(const uint8_t *in, size_t n, w_out *out) {
  double ms = 50;
  const char *slowdown = getenv("W_TEST_SLOWDOWN");
  if (slowdown && atof(slowdown) >= 1) ms *= atof(slowdown);
  struct timespec left = {(time_t)(ms / 1000), (long)((ms - 1000 * (long)(ms / 1000)) * 1e6)};
  while (nanosleep(&left, &left) != 0) {
  }
  return w_out_write(out, in, n) == 0 ? 0 : 1;
}
