/* bench/coupled.sh's kernel, for --group 2: rank 0 and rank 1 play
 *   1. ping-pong: `n` round trips of a `size`-byte message (0 -> 1 -> 0),
 *   2. stream: `stream_n` messages of `stream_size` bytes from 0 to 1, then
 *      one 1-byte ack from 1 to 0,
 * each after `warmup` untimed round trips and a barrier (so a relay's peers
 * are connected before the clock starts). Rank 0 returns
 *   {"rtt_ms": ms per round trip, "stream_mb_s": MB/s (10^6 B) of the stream,
 *    "n", "size", "stream_n", "stream_size"}
 * and rank 1 returns nothing. The input is a map of those option names to
 * non-negative integers (others are ignored); missing ones take the defaults
 * below. Timed with CLOCK_MONOTONIC, which the sandbox allows. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "w_kernel.h"

#define TIMEOUT_MS 60000

struct options {
  uint64_t n, size, stream_n, stream_size, warmup;
};

/* Reads one msgpack unsigned integer (or skips anything else: returns -1). */
static int read_uint(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  if (*p >= end) return -1;
  uint8_t b = *(*p)++;
  if (b <= 0x7f) {
    *v = b;
    return 0;
  }
  int len = b == 0xcc ? 1 : b == 0xcd ? 2 : b == 0xce ? 4 : b == 0xcf ? 8 : 0;
  if (!len || end - *p < len) return -1;
  *v = 0;
  for (int i = 0; i < len; ++i) *v = *v << 8 | *(*p)++;
  return 0;
}

/* Parses a fixmap (or map16) of fixstr keys to unsigned integers. */
static int parse(const uint8_t* p, size_t n, struct options* o) {
  const uint8_t* end = p + n;
  if (p >= end) return 0;
  size_t pairs;
  if ((*p & 0xf0) == 0x80) {
    pairs = *p++ & 0x0f;
  } else if (*p == 0xde && end - p >= 3) {
    pairs = (size_t)p[1] << 8 | p[2];
    p += 3;
  } else {
    return -1;
  }
  for (size_t i = 0; i < pairs; ++i) {
    if (p >= end || (*p & 0xe0) != 0xa0) return -1;
    size_t klen = *p++ & 0x1f;
    if ((size_t)(end - p) < klen) return -1;
    const char* key = (const char*)p;
    p += klen;
    uint64_t v;
    if (read_uint(&p, end, &v) != 0) return -1;
#define KEY(name) (klen == sizeof #name - 1 && memcmp(key, #name, klen) == 0)
    if (KEY(n))
      o->n = v;
    else if (KEY(size))
      o->size = v;
    else if (KEY(stream_n))
      o->stream_n = v;
    else if (KEY(stream_size))
      o->stream_size = v;
    else if (KEY(warmup))
      o->warmup = v;
#undef KEY
  }
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int put_key(w_out* out, const char* key) {
  uint8_t h = (uint8_t)(0xa0 | strlen(key));
  return w_out_write(out, &h, 1) | w_out_write(out, key, strlen(key));
}

static int put_double(w_out* out, const char* key, double v) {
  uint8_t b[9] = {0xcb};
  uint64_t bits;
  memcpy(&bits, &v, 8);
  for (int i = 0; i < 8; ++i) b[1 + i] = (uint8_t)(bits >> (56 - 8 * i));
  return put_key(out, key) | w_out_write(out, b, sizeof b);
}

static int put_uint(w_out* out, const char* key, uint64_t v) {
  uint8_t b[9] = {0xcf};
  for (int i = 0; i < 8; ++i) b[1 + i] = (uint8_t)(v >> (56 - 8 * i));
  return put_key(out, key) | w_out_write(out, b, sizeof b);
}

static const char* why(long rc) {
  switch (rc) {
    case W_ETIMEOUT:
      return "timeout";
    case W_EGROUP:
      return "a member was lost";
    case W_ERANK:
      return "no such rank";
    case W_ETOOBIG:
      return "message too big";
    default:
      return "short message";
  }
}

/* `rounds` round trips of `size` bytes; the peer echoes what it receives. */
static long ping_pong(w_out* out, uint8_t* buf, uint64_t size, uint64_t rounds) {
  const int rank = w_rank(out), peer = 1 - rank;
  for (uint64_t i = 0; i < rounds; ++i) {
    long rc;
    if (rank == 0) {
      if ((rc = w_send(out, peer, buf, size)) != 0) return rc;
      if ((rc = w_recv(out, peer, buf, size, TIMEOUT_MS)) != (long)size) return rc < 0 ? rc : 1;
    } else {
      if ((rc = w_recv(out, peer, buf, size, TIMEOUT_MS)) != (long)size) return rc < 0 ? rc : 1;
      if ((rc = w_send(out, peer, buf, size)) != 0) return rc;
    }
  }
  return 0;
}

int w_main(const uint8_t* in, size_t n, w_out* out) {
  struct options o = {10000, 64, 200, 1u << 20, 100};
  if (parse(in, n, &o) != 0) return w_fail(out, "input: a map of option names to integers");
  if (w_size(out) != 2) return w_fail(out, "run me with --group 2");
  if (o.size < 1 || o.size > W_MESSAGE_MAX || o.stream_size < 1 || o.stream_size > W_MESSAGE_MAX)
    return w_fail(out, "size and stream_size: 1 .. W_MESSAGE_MAX bytes");
  const int rank = w_rank(out), peer = 1 - rank;
  size_t cap = o.size > o.stream_size ? o.size : o.stream_size;
  uint8_t* buf = (uint8_t*)malloc(cap);
  if (!buf) return w_fail(out, "out of memory");
  memset(buf, rank ? 0xbb : 0xaa, cap);
  long rc;
  double rtt_ms = 0, mb_s = 0;

  if ((rc = ping_pong(out, buf, o.size, o.warmup)) != 0 || (rc = w_barrier(out, TIMEOUT_MS)) != 0)
    goto failed;
  double t0 = now_ms();
  if ((rc = ping_pong(out, buf, o.size, o.n)) != 0) goto failed;
  rtt_ms = o.n ? (now_ms() - t0) / (double)o.n : 0;

  if ((rc = w_barrier(out, TIMEOUT_MS)) != 0) goto failed;
  t0 = now_ms();
  for (uint64_t i = 0; i < o.stream_n; ++i) {
    if (rank == 0) {
      if ((rc = w_send(out, peer, buf, o.stream_size)) != 0) goto failed;
    } else if ((rc = w_recv(out, peer, buf, o.stream_size, TIMEOUT_MS)) != (long)o.stream_size) {
      goto failed;
    }
  }
  if (rank == 0) {
    if ((rc = w_recv(out, peer, buf, 1, TIMEOUT_MS)) != 1) goto failed;
  } else if ((rc = w_send(out, peer, buf, 1)) != 0) {
    goto failed;
  }
  double secs = (now_ms() - t0) / 1e3;
  mb_s = secs > 0 ? (double)o.stream_n * (double)o.stream_size / 1e6 / secs : 0;
  free(buf);
  if (rank != 0) return 0;
  uint8_t header = 0x86;
  if (w_out_write(out, &header, 1) | put_double(out, "rtt_ms", rtt_ms) |
      put_double(out, "stream_mb_s", mb_s) | put_uint(out, "n", o.n) |
      put_uint(out, "size", o.size) | put_uint(out, "stream_n", o.stream_n) |
      put_uint(out, "stream_size", o.stream_size))
    return w_fail(out, "out of memory");
  return 0;

failed:
  free(buf);
  return w_fail(out, why(rc));
}
