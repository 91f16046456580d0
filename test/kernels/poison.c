#define _GNU_SOURCE
/* Poison tasks: a dataset {"big": MB} returns MB megabytes of output (a
 * msgpack bin), {"junk": 1} writes garbage to the slot's own socket (fd 3)
 * {"die_mid_frame": 1} writes half a frame there and exits and
 * {"bad_note": 1} writes a well-formed link note whose `what` no worker
 * knows; anything else is returned unchanged. Each must fail its task only. */
#include <string.h>
#include <unistd.h>

#include "w_kernel.h"

static int has(const uint8_t* in, size_t n, const char* key) {
  return memmem(in, n, key, strlen(key)) != 0;
}

int w_main(const uint8_t* in, size_t n, w_out* out) {
  if (has(in, n, "big")) {
    const uint8_t* p = (const uint8_t*)memmem(in, n, "big", 3) + 3;
    size_t mb = *p <= 0x7f ? *p : 1;
    size_t bytes = mb << 20;
    uint8_t head[5] = {0xc6, (uint8_t)(bytes >> 24), (uint8_t)(bytes >> 16), (uint8_t)(bytes >> 8),
                       (uint8_t)bytes};
    w_out_write(out, head, 5);
    uint8_t* zeros = (uint8_t*)calloc(1, bytes);
    if (!zeros) return w_fail(out, "out of memory");
    w_out_write(out, zeros, bytes);
    free(zeros);
    return 0;
  }
#ifndef __wasm__
  if (has(in, n, "junk")) {
    static const char junk[] = "\x05\x00\x00\x00\x4d junk frames from the kernel";
    ssize_t ignored = write(3, junk, sizeof junk);
    (void)ignored;
  }
  if (has(in, n, "bad_note")) {
    /* u32 length 5 | type 19 (kFrameLinkNote) | i32 rank 1 | what 7 */
    static const char note[] = "\x05\x00\x00\x00\x13\x01\x00\x00\x00\x07";
    ssize_t ignored = write(3, note, sizeof note - 1);
    (void)ignored;
  }
  if (has(in, n, "die_mid_frame")) {
    static const char half[] = "\x00\x01\x00\x00\x0c\x00\x00";
    ssize_t ignored = write(3, half, sizeof half - 1);
    (void)ignored;
    _exit(0);
  }
#endif
  return w_out_write(out, in, n) == 0 ? 0 : 1;
}
