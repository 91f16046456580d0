/* A coupled kernel for two members (--group 2) that probes the C calls'
 * error codes and the barrier's semantics. Rank 0 returns
 *   [w_recv(1, 100 ms) with nothing sent   -> W_ETIMEOUT (-1),
 *    w_recv from itself                    -> W_ERANK (-3),
 *    w_send to rank 5                      -> W_ERANK (-3),
 *    w_barrier(50 ms) while 1 sleeps       -> W_ETIMEOUT (-1),
 *    w_barrier(-1), the same barrier again -> 0,
 *    w_recv of "hi" into 1 byte            -> 2 (cut short),
 *    that byte                             -> 104 ('h')]
 * and rank 1 sleeps 300 ms, enters the barrier, sends "hi" and returns
 * [its barrier's result, its send's result] = [0, 0]. */
#include <time.h>

#include "w_kernel.h"

static int put_small(w_out* out, long v) { /* a msgpack fixint, -32..127 */
  uint8_t b = (uint8_t)(int8_t)v;
  return w_out_write(out, &b, 1);
}

int w_main(const uint8_t* in, size_t n, w_out* out) {
  (void)in;
  (void)n;
  if (w_size(out) != 2) return w_fail(out, "run me with --group 2");
  long r[7];
  int count = 0;
  if (w_rank(out) == 0) {
    char buf[1];
    r[count++] = w_recv(out, 1, buf, sizeof buf, 100);
    r[count++] = w_recv(out, 0, buf, sizeof buf, 100);
    r[count++] = w_send(out, 5, "x", 1);
    r[count++] = w_barrier(out, 50);
    r[count++] = w_barrier(out, -1);
    r[count++] = w_recv(out, 1, buf, sizeof buf, 5000);
    r[count++] = (unsigned char)buf[0];
  } else {
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    r[count++] = w_barrier(out, -1);
    r[count++] = w_send(out, 0, "hi", 2);
  }
  uint8_t header = (uint8_t)(0x90 | count);
  w_out_write(out, &header, 1);
  for (int i = 0; i < count; ++i) put_small(out, r[i]);
  return 0;
}
