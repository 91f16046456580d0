// The C++ -> JS half of the browser worker's contract (browser_host.h):
// each function one call of self.wkitHost, which www/wkit_host.js defines.
// Every EM_JS of wrun.wasm is here, so the JS side has one list to match.
#include "browser_host.h"

#include <emscripten.h>

// clang-format off (C++ formatting would split JavaScript operators)

// Strings returned to C++: malloc'ed here, freed by the caller.
EM_JS(char*, js_kernel_use,
      (const char* sha, const uint8_t* wasm, size_t wasm_n, const uint8_t* stat, size_t stat_n), {
        const err = self.wkitHost.useKernel(UTF8ToString(sha),
                                            wasm_n ? HEAPU8.slice(wasm, wasm + wasm_n) : null,
                                            HEAPU8.slice(stat, stat + stat_n));
        const n = lengthBytesUTF8(err) + 1;
        const p = _malloc(n);
        stringToUTF8(err, p, n);
        return p;
      });
EM_JS(char*, js_member_start, (const uint8_t* input, size_t n, int rank, int size), {
  const err = self.wkitHost.memberStart(HEAPU8.slice(input, input + n), rank, size);
  const len = lengthBytesUTF8(err) + 1;
  const p = _malloc(len);
  stringToUTF8(err, p, len);
  return p;
});

EM_JS(int, js_kernel_cached, (const char* sha),
      { return self.wkitHost.hasKernel(UTF8ToString(sha)) ? 1 : 0; });
EM_JS(void, js_status, (const char* json), { self.wkitHost.status(UTF8ToString(json)); });
EM_JS(void, js_set_max_output, (double bytes), { self.wkitHost.setMaxOutput(bytes); });
EM_JS(double, js_heap_bytes, (), { return self.wkitHost.heapBytes(); });
EM_JS(int, js_coupled, (), { return self.wkitHost.coupled() ? 1 : 0; });

EM_JS(void, js_task_add, (double id, const uint8_t* input, size_t n),
      { self.wkitHost.addTask(id, HEAPU8.slice(input, input + n)); });
EM_JS(void, js_tasks_run, (int batch, double slice_ms),
      { self.wkitHost.runTasks(batch, slice_ms); });
EM_JS(void, js_kernel_stop, (), { self.wkitHost.stopKernel(); });

EM_JS(void, js_member_answer, (int rc, const uint8_t* msg, size_t n),
      { self.wkitHost.memberAnswer(rc, n ? HEAPU8.subarray(msg, msg + n) : null); });
EM_JS(void, js_member_stop, (), { self.wkitHost.memberStop(); });
EM_JS(void, js_dc_open, (const char* sig, const char* group, int rank, int peer),
      { self.wkitHost.channelOpen(UTF8ToString(sig), UTF8ToString(group), rank, peer); });
EM_JS(void, js_dc_send, (const char* group, int rank, int peer, const uint8_t* p, size_t n),
      { self.wkitHost.channelSend(UTF8ToString(group), rank, peer, HEAPU8.slice(p, p + n)); });
EM_JS(void, js_dc_close, (const char* group, int rank, int peer),
      { self.wkitHost.channelClose(UTF8ToString(group), rank, peer); });

EM_JS(void, js_take_pending, (uint8_t * p), { self.wkitHost.takePending(HEAPU8, p); });

// clang-format on
