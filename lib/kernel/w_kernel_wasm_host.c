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
