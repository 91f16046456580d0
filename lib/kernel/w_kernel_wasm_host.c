/* w_kernel_wasm_host.c — linked into every kernel's standalone .wasm so the
 * browser host can drive w_main without knowing w_out's layout: the layout
 * belongs to w_kernel.h and may grow, these accessors follow it. They and
 * malloc/free are the module's only exports beside the kernel ABI.
 *
 * One w_out per instance, owned by the host: w_host_out_new() once after
 * instantiation, w_host_out_reset() after each task has been read. */
#include "w_kernel.h"

W_EXPORT w_out* w_host_out_new(void) {
  return (w_out*)calloc(1, sizeof(w_out));
}

/* Frees what the kernel left in `out` and zeroes it for the next call. */
W_EXPORT void w_host_out_reset(w_out* out) {
  free(out->data);
  free(out->error);
  memset(out, 0, sizeof *out);
}

W_EXPORT const uint8_t* w_host_out_data(const w_out* out) {
  return out->data;
}

W_EXPORT size_t w_host_out_size(const w_out* out) {
  return out->size;
}

W_EXPORT const char* w_host_out_error(const w_out* out) {
  return out->error;
}

/* Coupled tasks: the host's w_send, w_recv and w_barrier are imports of
 * module "wkit" (www/kernel.js provides them; they block the kernel's
 * thread until answered). w_kernel_wasm_host.js declares them to Emscripten. */
__attribute__((import_module("wkit"), import_name("wkit_send"))) int wkit_send(w_out* out, int to,
                                                                               const void* bytes,
                                                                               size_t n);
__attribute__((import_module("wkit"), import_name("wkit_recv"))) long wkit_recv(
    w_out* out, int from, void* buffer, size_t cap, int timeout_ms);
__attribute__((import_module("wkit"), import_name("wkit_barrier"))) int wkit_barrier(
    w_out* out, int timeout_ms);

static int host_send(w_out* out, int to, const void* bytes, size_t n) {
  return wkit_send(out, to, bytes, n);
}
static long host_recv(w_out* out, int from, void* buffer, size_t cap, int timeout_ms) {
  return wkit_recv(out, from, buffer, cap, timeout_ms);
}
static int host_barrier(w_out* out, int timeout_ms) {
  return wkit_barrier(out, timeout_ms);
}

/* Makes the next w_main a member of a coupled task (after w_host_out_reset). */
W_EXPORT void w_host_out_group(w_out* out, int rank, int size) {
  out->rank = rank;
  out->group_size = size;
  out->send = host_send;
  out->recv = host_recv;
  out->barrier = host_barrier;
}
