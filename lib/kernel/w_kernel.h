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
 * A task of a coupled campaign (`wpool submit --group K`, `wrun --group K`)
 * runs as K members started together, one per slot: each learns its rank
 * (w_rank) and K (w_size) and exchanges messages with the others (w_send,
 * w_recv, w_barrier). Messages between two members arrive in the order they
 * were sent; the host carries them (the kernel stays sandboxed).
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

/* 2 added checkpoints: the fields after `host` in w_out.
 * 3 added coupled tasks: the fields after `restore_n`. */
#define W_KERNEL_ABI_VERSION 3

/* The largest state w_checkpoint accepts, in bytes. */
#define W_CHECKPOINT_MAX (4u << 20)

/* The largest message w_send accepts, in bytes. */
#define W_MESSAGE_MAX (16u << 20)

/* What w_send, w_recv and w_barrier return when they fail. */
#define W_ETIMEOUT (-1) /* nothing arrived within the timeout */
#define W_EGROUP (-2)   /* a member was lost: the group is being stopped */
#define W_ERANK (-3)    /* no such rank (or the caller's own), or not coupled */
#define W_ETOOBIG (-4)  /* the message is larger than W_MESSAGE_MAX */

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
  /* Coupled tasks: this member's rank in 0..group_size-1 and the group's
   * size K. A task that is not coupled has rank 0 and group_size 1 (or 0
   * from a host that predates version 3: use w_rank and w_size). */
  int rank;
  int group_size;
  /* Host hooks for w_send, w_recv and w_barrier; NULL when not coupled. */
  int (*send)(struct w_out* out, int to, const void* bytes, size_t n);
  long (*recv)(struct w_out* out, int from, void* buffer, size_t cap, int timeout_ms);
  int (*barrier)(struct w_out* out, int timeout_ms);
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

/* This member's rank in its group (0 when the task is not coupled). */
static inline int w_rank(const w_out* out) { return out->group_size > 0 ? out->rank : 0; }

/* The number of members in the group (1 when the task is not coupled). */
static inline int w_size(const w_out* out) { return out->group_size > 0 ? out->group_size : 1; }

/* Sends n bytes (at most W_MESSAGE_MAX) to the member with rank `to`. The
 * host copies them before returning; the call may block while earlier
 * messages to `to` are still in flight. Returns 0 or W_E*. */
static inline int w_send(w_out* out, int to, const void* bytes, size_t n) {
  if (!out->send) return W_ERANK;
  if (n > W_MESSAGE_MAX) return W_ETOOBIG;
  return out->send(out, to, bytes, n);
}

/* Waits up to timeout_ms (< 0: for ever) for the next message from the
 * member with rank `from`. Returns the message's length and copies at most
 * `cap` bytes of it into `buffer` (a length above cap means it was cut
 * short), or W_E*. */
static inline long w_recv(w_out* out, int from, void* buffer, size_t cap, int timeout_ms) {
  if (!out->recv) return W_ERANK;
  return out->recv(out, from, buffer, cap, timeout_ms);
}

/* Returns when every member of the group has called w_barrier (0), or W_E*
 * after timeout_ms (< 0: for ever). Barrier traffic never shows in w_recv. */
static inline int w_barrier(w_out* out, int timeout_ms) {
  if (!out->barrier) return w_size(out) == 1 ? 0 : W_ERANK;
  return out->barrier(out, timeout_ms);
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
