/* A long task in steps of about 50 ms each that checkpoints its step counter
 * after every step and, when the task is run again from a checkpoint, starts
 * where that left off. Input {"steps": S} (default 20), and "log": 1 to
 * print each finished step on stderr (every value in the map must be an
 * unsigned integer). Output {"steps": S, "started": K,
 * "ran": S - K}: K is the step this attempt started at (0 on a fresh start),
 * so a resumed task shows how much was redone. The state is the next step's
 * number as 4 little-endian bytes. */
#include <stdio.h>

#include "busy.h"
#include "w_kernel.h"

/* Reads one unsigned msgpack integer at *p; returns 0 if there is none. */
static int read_uint(const uint8_t** p, const uint8_t* end, uint32_t* v) {
  const uint8_t* q = *p;
  size_t n = 0;
  if (q >= end) return 0;
  if (*q <= 0x7f) {
    *v = *q;
    *p = q + 1;
    return 1;
  }
  if (*q == 0xcc) n = 1;
  if (*q == 0xcd) n = 2;
  if (*q == 0xce) n = 4;
  if (n == 0 || (size_t)(end - q) < 1 + n) return 0;
  *v = 0;
  for (size_t i = 0; i < n; ++i) *v = *v << 8 | q[1 + i];
  *p = q + 1 + n;
  return 1;
}

/* Reads "steps" and "log" from a map whose keys are short strings; -1 if
 * malformed. */
static int parse(const uint8_t* in, size_t n, uint32_t* steps, uint32_t* log) {
  const uint8_t *p = in, *end = in + n;
  *steps = 20;
  *log = 0;
  if (p >= end || (*p & 0xf0) != 0x80) return -1;
  unsigned entries = *p++ & 0x0f;
  for (unsigned i = 0; i < entries; ++i) {
    if (p >= end || (*p & 0xe0) != 0xa0) return -1;
    size_t klen = *p++ & 0x1f;
    if ((size_t)(end - p) < klen) return -1;
    uint32_t* field = klen == 5 && memcmp(p, "steps", 5) == 0 ? steps
                      : klen == 3 && memcmp(p, "log", 3) == 0 ? log
                                                              : NULL;
    p += klen;
    uint32_t v;
    if (!read_uint(&p, end, &v)) return -1;
    if (field) *field = v;
  }
  return 0;
}

static void put_u32(uint8_t* p, uint32_t v) {
  p[0] = 0xce;
  for (int i = 0; i < 4; ++i) p[1 + i] = (uint8_t)(v >> (24 - 8 * i));
}

int w_main(const uint8_t* in, size_t n, w_out* out) {
  uint32_t steps, log;
  if (parse(in, n, &steps, &log) != 0)
    return w_fail(out, "input must be a map of unsigned integers, like {\"steps\":20}");
  uint32_t start = 0;
  if (out->restore) {
    if (out->restore_n != 4) return w_fail(out, "checkpoint is not 4 bytes");
    for (int i = 0; i < 4; ++i) start |= (uint32_t)out->restore[i] << (8 * i);
    if (start > steps) return w_fail(out, "checkpoint is past the last step");
  }
  volatile unsigned long long sink = 0;
  for (uint32_t step = start; step < steps; ++step) {
    sink += busy_work(5 * BUSY_ITERATIONS); /* about 50 ms */
    const uint32_t next = step + 1;
    const uint8_t state[4] = {(uint8_t)next, (uint8_t)(next >> 8), (uint8_t)(next >> 16),
                              (uint8_t)(next >> 24)};
    (void)w_checkpoint(out, state, sizeof state); /* -1: this host keeps none; carry on */
    w_progress(out, (double)next / (double)steps);
    if (log) fprintf(stderr, "steps: step %u of %u done\n", (unsigned)next, (unsigned)steps);
  }
  (void)sink;
  uint8_t buf[1 + 3 * (8 + 5)];
  size_t len = 0;
  buf[len++] = 0x83;
  const char* keys[3] = {"steps", "started", "ran"};
  const uint32_t values[3] = {steps, start, steps - start};
  for (int i = 0; i < 3; ++i) {
    size_t k = strlen(keys[i]);
    buf[len++] = (uint8_t)(0xa0 | k);
    memcpy(buf + len, keys[i], k);
    len += k;
    put_u32(buf + len, values[i]);
    len += 5;
  }
  return w_out_write(out, buf, len) == 0 ? 0 : 1;
}
