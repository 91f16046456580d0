/* w_kernel.h — the wkit kernel ABI (C). See w_kernel(3).
 *
 * A kernel is a shared object (native) or a standalone WebAssembly module
 * (browser) that exports:
 *
 *   int w_init(const uint8_t *static_data, size_t n);        optional
 *   int w_main(const uint8_t *in, size_t n, w_out *out);     required
 *
 * w_init runs once per worker process with the campaign's static dataset
 * (msgpack bytes; n == 0 when there is none). w_main runs once per dataset:
 * `in` is one msgpack map; the kernel appends at most one msgpack object to
 * `out` (w_out_write) and returns 0, or returns non-zero after w_fail() to
 * fail the task with a message. Kernels run sandboxed: no files, no sockets,
 * no threads; compute only.
 *
 * A long task may save its state with w_checkpoint(); when the task is run
 * again after its worker was lost, w_main gets the last saved state in
 * out->restore (NULL on a fresh start) and continues from there.
 *
 * Everything below is header-only so a kernel needs no library to link.
 */
#ifndef W_KERNEL_H_
#define W_KERNEL_H_

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2 added checkpoints: the fields after `host` in w_out. */
#define W_KERNEL_ABI_VERSION 2

/* The largest state w_checkpoint accepts, in bytes. */
#define W_CHECKPOINT_MAX (4u << 20)

/* The output of one w_main call. The host zeroes it before each call and
 * frees `data` and `error` (with free()) after reading them. New fields
 * are only ever added at the end, so kernels built against an older
 * version of this header keep working. */
typedef struct w_out {
  uint8_t* data; /* result bytes: one msgpack object, or none */
  size_t size;
  size_t cap;
  char* error; /* set by w_fail: why the task failed */
  /* Host hook for w_progress; may be NULL. */
  void (*progress)(struct w_out* out, double fraction);
  void* host; /* the host's context for the hooks */
  /* Host hook for w_checkpoint; may be NULL (the host keeps no checkpoints). */
  int (*checkpoint)(struct w_out* out, const void* state, size_t n);
  /* The state this task last passed to w_checkpoint, when the task is run
   * again after its worker was lost; NULL and 0 on a fresh start. Owned by
   * the host and valid until w_main returns. */
  const uint8_t* restore;
  size_t restore_n;
} w_out;

/* Appends bytes to the result. Returns 0, or -1 when memory ran out. */
static inline int w_out_write(w_out* out, const void* bytes, size_t n) {
  if (out->size + n > out->cap) {
    size_t cap = out->cap ? out->cap : 64;
    while (cap < out->size + n) cap *= 2;
    uint8_t* grown = (uint8_t*)realloc(out->data, cap);
    if (!grown) return -1;
    out->data = grown;
    out->cap = cap;
  }
  memcpy(out->data + out->size, bytes, n);
  out->size += n;
  return 0;
}

/* Records why the task failed; return its result (1) from w_main. */
static inline int w_fail(w_out* out, const char* message) {
  size_t n = strlen(message);
  free(out->error);
  out->error = (char*)malloc(n + 1);
  if (out->error) memcpy(out->error, message, n + 1);
  return 1;
}

/* Reports how far the current task is (0..1); the host may show it. */
static inline void w_progress(w_out* out, double fraction) {
  if (out->progress) out->progress(out, fraction);
}

/* Saves the task's state so far (any bytes, at most W_CHECKPOINT_MAX): if
 * the task has to run again elsewhere, that run's out->restore holds the
 * last state saved. The host copies the bytes before returning; the kernel
 * may checkpoint as often as it likes (hosts pass on the latest, throttled).
 * Returns 0, or -1 when the state is too large or the host keeps none. */
static inline int w_checkpoint(w_out* out, const void* state, size_t n) {
  if (!out->checkpoint || n > W_CHECKPOINT_MAX) return -1;
  return out->checkpoint(out, state, n);
}

/* The exported entry points, declared so kernels get the signatures right.
 * W_EXPORT keeps them visible in -fvisibility=hidden builds and in wasm. */
#if defined(__EMSCRIPTEN__) || defined(__wasm__)
#define W_EXPORT __attribute__((used, visibility("default")))
#else
#define W_EXPORT __attribute__((visibility("default")))
#endif

W_EXPORT int w_init(const uint8_t* static_data, size_t n);
W_EXPORT int w_main(const uint8_t* in, size_t n, w_out* out);

#ifdef __cplusplus
}
#endif

#endif /* W_KERNEL_H_ */
