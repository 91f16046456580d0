/* The CPU-bound loop shared by the busy10ms kernel and its in-process
 * baseline in bench/, so both measure exactly the same work. */
#ifndef W_TEST_BUSY_H_
#define W_TEST_BUSY_H_

#ifndef BUSY_ITERATIONS
#define BUSY_ITERATIONS 5400000ULL /* about 10 ms on this project's 2-core x86-64 machines */
#endif

static inline unsigned long long busy_work(unsigned long long n) {
  unsigned long long x = 88172645463325252ULL;
  for (unsigned long long i = 0; i < n; ++i) { /* xorshift: no memory, no calls */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

#endif
