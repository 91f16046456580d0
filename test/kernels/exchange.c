/* A coupled kernel for two members (--group 2) that checks what crosses
 * between them, however it goes (the worker's routes, or a direct link the
 * member took over part way):
 *   1. `rounds` round trips: rank 0 sends i, rank 1 answers i + 1; every
 *      answer must be the one expected, in order;
 *   2. both send each other `big` messages of `big_mib` MiB at the same
 *      time, then read the other's: each byte is checked (a pattern of the
 *      sender, the message and the offset); neither may wait on the other
 *      for ever while both send;
 *   3. a barrier, then a last small message each way.
 * With "hang": after the round trips, rank 0 sleeps for ever and rank 1
 * waits for a message that never comes (no timeout): only the group's end
 * stops them (a test kills one's worker).
 * Returns [rank, round trips checked, big bytes checked, last message ok]. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "w_kernel.h"

static long field(const uint8_t* in, size_t n, const char* key, long dflt) {
  /* The input is a msgpack map of small non-negative ints: find "key" by its
   * fixstr and read the fixint or uint16/uint32 after it. */
  size_t klen = strlen(key);
  for (size_t i = 0; i + 1 + klen < n; ++i) {
    if (in[i] != (uint8_t)(0xa0 | klen) || memcmp(in + i + 1, key, klen) != 0) continue;
    size_t at = i + 1 + klen;
    if (at >= n) return dflt;
    if (in[at] <= 0x7f) return in[at];
    if (in[at] == 0xc3) return 1; /* true */
    if (in[at] == 0xcd && at + 2 < n) return (long)in[at + 1] << 8 | in[at + 2];
    if (in[at] == 0xce && at + 4 < n)
      return (long)in[at + 1] << 24 | (long)in[at + 2] << 16 | (long)in[at + 3] << 8 | in[at + 4];
    return dflt;
  }
  return dflt;
}

static uint8_t pattern(int from, long msg, size_t off) {
  return (uint8_t)(from * 131 + msg * 31 + off * 7 + (off >> 12));
}

static int put_int(w_out* out, long v) { /* msgpack uint32 or fixint */
  if (v >= 0 && v <= 127) {
    uint8_t b = (uint8_t)v;
    return w_out_write(out, &b, 1);
  }
  uint8_t b[5] = {0xce, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  return w_out_write(out, b, 5);
}

int w_main(const uint8_t* in, size_t n, w_out* out) {
  if (w_size(out) != 2) return w_fail(out, "run me with --group 2");
  const int rank = w_rank(out), peer = 1 - rank;
  const long rounds = field(in, n, "rounds", 1000);
  const long big = field(in, n, "big", 2);
  const size_t big_size = (size_t)field(in, n, "big_mib", 12) << 20;
  long checked = 0;
  for (long i = 0; i < rounds; ++i) {
    long v = 0;
    if (rank == 0) {
      if (w_send(out, 1, &i, sizeof i) != 0) return w_fail(out, "send failed");
      if (w_recv(out, 1, &v, sizeof v, 20000) != sizeof v) return w_fail(out, "no answer");
      if (v != i + 1) return w_fail(out, "an answer out of order");
    } else {
      if (w_recv(out, 0, &v, sizeof v, 20000) != sizeof v) return w_fail(out, "no question");
      if (v != i) return w_fail(out, "a question out of order");
      v = i + 1;
      if (w_send(out, 0, &v, sizeof v) != 0) return w_fail(out, "send failed");
    }
    ++checked;
  }
  if (field(in, n, "hang", 0)) {
    if (rank == 0) {
      struct timespec ts = {3600, 0};
      nanosleep(&ts, NULL);
    } else {
      long v;
      w_recv(out, 0, &v, sizeof v, -1);
    }
    return w_fail(out, "woke up");
  }
  uint8_t* buf = malloc(big_size);
  if (!buf && big > 0) return w_fail(out, "out of memory");
  long bytes = 0;
  for (long m = 0; m < big; ++m) {
    for (size_t o = 0; o < big_size; ++o) buf[o] = pattern(rank, m, o);
    if (w_send(out, peer, buf, big_size) != 0) return w_fail(out, "big send failed");
  }
  for (long m = 0; m < big; ++m) {
    if (w_recv(out, peer, buf, big_size, 60000) != (long)big_size)
      return w_fail(out, "a big message did not come whole");
    for (size_t o = 0; o < big_size; ++o)
      if (buf[o] != pattern(peer, m, o)) return w_fail(out, "a big message came changed");
    bytes += (long)big_size;
  }
  free(buf);
  if (w_barrier(out, 20000) != 0) return w_fail(out, "barrier failed");
  char last[8] = "last-0";
  last[5] = (char)('0' + rank);
  if (w_send(out, peer, last, sizeof last) != 0) return w_fail(out, "last send failed");
  char got[8];
  const long k = w_recv(out, peer, got, sizeof got, 20000);
  const int last_ok = k == (long)sizeof got && got[5] == (char)('0' + peer);
  uint8_t arr = 0x94; /* fixarray of 4 */
  w_out_write(out, &arr, 1);
  put_int(out, rank);
  put_int(out, checked);
  put_int(out, bytes);
  uint8_t b = last_ok ? 0xc3 : 0xc2;
  return w_out_write(out, &b, 1);
}
