// The browser worker's JS <-> C++ contract, in one place: what wrun.wasm
// asks of its Web Worker (self.wkitHost, implemented by www/wkit_host.js)
// and what the Web Worker calls in wrun.wasm (the w_browser_* exports,
// called from www/wkit_host.js and www/worker.js). A change to either side
// changes this header and www/wkit_host.js together.
//
// Threads: one. Everything here runs on the slot's Web Worker (worker.js),
// which also holds the pool's WebSocket; the kernel runs in an inner Web
// Worker (kernel_worker.js) that only wkit_host.js talks to.
//
// Bytes cross by copy. C++ -> JS: a pointer and a length into wrun.wasm's
// memory, sliced by the JS side. JS -> C++: the JS side keeps the bytes
// as its "pending" buffer, calls the export with their length, and the
// export has js_take_pending() copy them into a buffer it allocated.
// Strings cross as UTF-8; a string returned to C++ is malloc'ed by the JS
// side and freed by the caller.
//
// Definitions: browser_host_emscripten.cc (EM_JS, one line each to
// self.wkitHost); the exports are defined beside the class they call
// (browser_emscripten.cc, tasks_emscripten.cc, members_emscripten.cc).
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

// ---- C++ -> JS: self.wkitHost (www/wkit_host.js) ----

// The pool connection (browser_emscripten.cc).

/// wkitHost.hasKernel(sha): 1 if the kernel `sha` is compiled here already.
int js_kernel_cached(const char* sha);
/// wkitHost.useKernel(sha, wasm|null, staticData): selects the kernel and,
/// with bytes (wasm_n > 0), first compiles it under the memory cap. Returns
/// "" or why it cannot run in this browser (malloc'ed; the caller frees).
char* js_kernel_use(const char* sha, const uint8_t* wasm, size_t wasm_n, const uint8_t* stat,
                    size_t stat_n);
/// wkitHost.status(json): the page's status line (state, id, campaign,
/// done, failed, queued, detail), posted to the page as {type: 'status'}.
void js_status(const char* json);
/// wkitHost.setMaxOutput(bytes): the largest kernel output a result may
/// carry (the pool's max_frame less the message's room); a larger one
/// fails its task in JS, before it is copied.
void js_set_max_output(double bytes);
/// wkitHost.heapBytes(): the JS heap in use where the browser tells it
/// (Chromium's performance.memory), else 0, for heartbeats.
double js_heap_bytes();
/// wkitHost.coupled(): 1 if members of coupled tasks can run here (the page
/// is cross-origin isolated: SharedArrayBuffer), told to the pool in hello.
int js_coupled();

// Ordinary tasks (tasks_emscripten.cc).

/// wkitHost.addTask(id, input): a task for the next slice.
void js_task_add(double id, const uint8_t* input, size_t n);
/// wkitHost.runTasks(batch, sliceMs): hands the slice to the kernel's
/// worker; it answers with w_browser_slice_started, then one
/// w_browser_task_done per task (the last with end = 1).
void js_tasks_run(int batch, double slice_ms);
/// wkitHost.stopKernel(): terminates the kernel's worker, whatever it
/// runs, and has the page start another (the watchdog, a pause).
void js_kernel_stop();

// Members of coupled tasks (members_emscripten.cc).

/// wkitHost.memberStart(input, rank, size): starts a member in the kernel's
/// worker; "" or why it cannot run here (malloc'ed; the caller frees). Its
/// hooks come as w_browser_member_call, its end as w_browser_member_done.
char* js_member_start(const uint8_t* input, size_t n, int rank, int size);
/// wkitHost.memberAnswer(rc, bytes|null): answers the member's waiting
/// call (through the SharedArrayBuffer it sleeps on).
void js_member_answer(int rc, const uint8_t* msg, size_t n);
/// wkitHost.memberStop(): stops the member at once (aborted, timed out).
void js_member_stop();
/// wkitHost.channelOpen(sig, group, rank, peer): asks the page for a WebRTC
/// DataChannel from local member `rank` to browser rank `peer`; events come
/// as w_browser_dc_open / _data / _closed.
void js_dc_open(const char* sig, const char* group, int rank, int peer);
/// wkitHost.channelSend(group, rank, peer, bytes): stream bytes on it.
void js_dc_send(const char* group, int rank, int peer, const uint8_t* p, size_t n);
/// wkitHost.channelClose(group, rank, peer): closes it (or the port, when
/// it comes).
void js_dc_close(const char* group, int rank, int peer);

// Bytes from JS.

/// wkitHost.takePending(HEAPU8, p): copies the pending bytes (the result,
/// call or channel data being handled) to `p`, which has room for them.
void js_take_pending(uint8_t* p);

// ---- JS -> C++: exports (EXPORTED_FUNCTIONS in cmake/wasm.cmake) ----

/// Page {cmd: 'start'}: connects to `pool` and serves until paused.
/// `score`: Dhrystones/s (0: unknown); `memory_mb`: the kernel's cap.
void w_browser_start(const char* pool, const char* name, const char* key, int throttle,
                     double score, int memory_mb, const char* worker_key);
/// Page {cmd: 'pause'} / {cmd: 'resume'} / {cmd: 'throttle', percent}.
void w_browser_pause();
void w_browser_resume();
void w_browser_throttle(int percent);
/// The kernel's worker began slice `batch`.
void w_browser_slice_started(int batch);
/// The result of task `id` of slice `batch`: output (ok) or error text
/// (pending, `n` bytes), the time in the kernel, and whether the slice ended.
void w_browser_task_done(int batch, double id, int ok, size_t n, double ms, int end);
/// The kernel's worker failed by itself (an uncaught error): the running
/// task fails with `why`.
void w_browser_kernel_failed(const char* why);
/// The running member calls w_send/w_recv/w_barrier (sandbox::Call as
/// int); its message is pending (`n` bytes).
void w_browser_member_call(int call, int peer, size_t n, int timeout_ms);
/// The running member ended: output (ok) or error text, pending.
void w_browser_member_done(int ok, size_t n, double ms);
/// DataChannel events for local member `rank` and browser rank `peer`.
void w_browser_dc_open(const char* group, int rank, int peer);
void w_browser_dc_data(const char* group, int rank, int peer, size_t n);
/// The page moved `n` more of the member's bytes into the DataChannel.
void w_browser_dc_sent(const char* group, int rank, int peer, double n);
void w_browser_dc_closed(const char* group, int rank, int peer, const char* why);
}
