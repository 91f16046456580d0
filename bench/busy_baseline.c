/* The busy10ms kernel's work called N times in a plain loop: the baseline
 * for wrun's per-task overhead (bench/wrun.sh). Usage: busy_baseline N */
#include <stdio.h>
#include <stdlib.h>

#include "busy.h"

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100;
  unsigned long long sink = 0;
  for (long i = 0; i < n; ++i) sink ^= busy_work(BUSY_ITERATIONS);
  printf("%llu\n", sink);
  return 0;
}
