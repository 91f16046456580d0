// wkit_host.js — self.wkitHost, the JavaScript half of the browser worker's
// contract with wrun.wasm. The C++ half, with a comment per function, is
// lib/src/worker/browser_host.h: every wkitHost method below is called by
// one js_* function there (browser_host_emscripten.cc), and every
// Module._w_browser_* called here is an export declared there. Change
// both together.
//
// Loaded by worker.js (importScripts, before wrun.js), in the slot's Web
// Worker: it keeps the compiled kernels, the kernel's inner Web Worker
// (kernel_worker.js) and its port, the slice of tasks being put together,
// the bytes being handed to wrun.wasm ("pending": js_take_pending copies
// them), and the members' DataChannels. worker.js calls innerAttach,
// innerError, channelPort and setMemoryMB with what the page sends.
'use strict';

const modules = new Map();  // sha256 → WebAssembly.Module, compiled (memory-capped) once
let kernelSha = '', kernelStatic = null, kernelEpoch = 0;  // epoch: one per useKernel
// The kernel's memory cap in MB (the page's setting, as wrun --memory).
const MEMORY_MIN = 16, MEMORY_MAX = 4096;
let memoryMB = 512;

// The page's memory setting for the kernel (worker.js, at start), clamped.
function setMemoryMB(mb) {
  memoryMB = Math.min(MEMORY_MAX, Math.max(MEMORY_MIN, Math.round(Number(mb)) || memoryMB));
  return memoryMB;
}
// The kernel's worker and, on a cross-origin isolated page, the buffer its
// members' calls are answered through: room for the largest message
// (W_MESSAGE_MAX) after a 16-byte header. A new buffer per kernel worker:
// an old one, until the page has terminated it, may still touch its own.
const MESSAGE_MAX = 16 << 20;
const isolated = typeof SharedArrayBuffer !== 'undefined' && !!self.crossOriginIsolated;
let inner = null;  // {port, gen, epoch, busy: '' | 'tasks' | 'member', sab, ctl, data}
let waitingInner = [];  // what to send once the kernel worker is ready: functions
let tasks = [];  // the slice being put together by wrun.wasm: [{id, input}]
let pending = null;  // bytes of the kernel worker's last call or result, for wrun.wasm
// The largest output a result may carry (the pool's max_frame less room for
// the message): a larger one fails its task here, before it is copied.
let maxOutput = (16 << 20) - 65536;

function mib(n) {
  return n % 1048576 === 0 ? `${n / 1048576} MiB` : `${n} bytes`;
}

// A task's or member's result message, with an output over maxOutput
// turned into an error (as native wrun words it).
function bounded(m) {
  if ('error' in m || !m.output || m.output.length <= maxOutput) return m;
  return Object.assign({}, m, { output: undefined,
    error: `result larger than ${mib(maxOutput)} (the kernel returned ${mib(m.output.length)})` });
}

// The page started a kernel worker for this slot (at join, and after each
// kernel-restart); what waited for one goes once it says it holds its end
// of the port (kernel_worker.js says why).
function innerAttach(port, gen) {
  inner = { port, gen, epoch: -1, busy: '', ready: false };
  if (isolated) {
    inner.sab = new SharedArrayBuffer(16 + MESSAGE_MAX);
    inner.ctl = new Int32Array(inner.sab, 0, 4);
    inner.data = new Uint8Array(inner.sab, 16);
  }
  port.onmessage = innerMessage;
}

// Runs send() now, or once the kernel worker is ready.
function innerSend(send) {
  if (inner && inner.ready) send();
  else waitingInner.push(send);
}

// Stops the kernel at once, whatever it runs: nothing more is read from
// its worker, and the page terminates it and starts another.
function innerStop() {
  if (inner) {
    inner.port.onmessage = null;
    inner.port.close();
    inner = null;
    self.postMessage({ type: 'kernel-restart' });
  }
  waitingInner = [];
}

// An uncaught error in kernel_worker.js (not a kernel's fault, which
// kernel.js reports as the task's error): a new one, and the task fails.
function innerError(gen, message) {
  if (!inner || inner.gen !== gen) return;
  const busy = inner.busy;
  innerStop();
  const why = 'kernel worker failed: ' + (message || 'unknown error');
  if (busy === 'member') innerMessage({ data: { type: 'done', error: why, ms: 0 } });
  else if (busy === 'tasks') Module.ccall('w_browser_kernel_failed', null, ['string'], [why]);
}

// Hands the current kernel to the kernel worker if it does not have it yet.
function innerKernel() {
  if (inner.epoch === kernelEpoch) return;
  inner.port.postMessage({ cmd: 'kernel', epoch: kernelEpoch, module: modules.get(kernelSha),
    staticData: kernelStatic, memoryMB });
  inner.epoch = kernelEpoch;
}

function innerMessage(event) {
  let m = event.data;
  if (m.type === 'ready') {
    inner.ready = true;
    const queued = waitingInner;
    waitingInner = [];
    for (const send of queued) send();
  } else if (m.type === 'started') {
    Module._w_browser_slice_started(m.batch);
  } else if (m.type === 'result') {
    m = bounded(m);
    const ok = !('error' in m);
    if (m.end && inner) inner.busy = '';
    pending = ok ? m.output : new TextEncoder().encode(m.error);
    Module._w_browser_task_done(m.batch, m.id, ok ? 1 : 0, pending.length, m.ms, m.end ? 1 : 0);
  } else if (m.type === 'call') {
    pending = m.bytes || null;
    Module._w_browser_member_call(m.call, m.peer, pending ? pending.length : 0, m.timeout);
  } else if (m.type === 'done') {
    if (inner) inner.busy = '';
    m = bounded(m);
    const ok = !('error' in m);
    pending = ok ? m.output : new TextEncoder().encode(m.error);
    Module._w_browser_member_done(ok ? 1 : 0, pending.length, m.ms);
  }
  pending = null;
}

// DataChannels by `${group}/${rank}/${peer}`: {port (once the page sent
// it), closed}.
const channels = new Map();

function channelEvent(group, rank, peer, m) {
  if (m.ev === 'open') {
    Module.ccall('w_browser_dc_open', null, ['string', 'number', 'number'], [group, rank, peer]);
  } else if (m.ev === 'data') {
    pending = new Uint8Array(m.bytes);
    Module.ccall('w_browser_dc_data', null, ['string', 'number', 'number', 'number'],
      [group, rank, peer, pending.length]);
    pending = null;
  } else if (m.ev === 'sent') {
    Module.ccall('w_browser_dc_sent', null, ['string', 'number', 'number', 'number'],
      [group, rank, peer, m.n]);
  } else if (m.ev === 'closed') {
    channels.delete(`${group}/${rank}/${peer}`);
    Module.ccall('w_browser_dc_closed', null, ['string', 'number', 'number', 'string'],
      [group, rank, peer, m.why || 'closed']);
  }
}

function channelPort(key, port) {
  const c = channels.get(key);
  if (!c || c.closed) {
    channels.delete(key);
    port.postMessage({ close: true });
    port.close();
    return;
  }
  const [group, rank, peer] = key.split('/');
  c.port = port;
  port.onmessage = (e) => channelEvent(group, Number(rank), Number(peer), e.data);
}

self.wkitHost = {
  hasKernel(sha) {
    return modules.has(sha);
  },
  // Compiles (with bytes) and selects the kernel; returns '' or why it
  // cannot run here. It is instantiated, and w_init run, in the inner
  // worker, under the watchdog.
  useKernel(sha, bytes, staticData) {
    try {
      if (bytes) {
        const module = new WebAssembly.Module(WKernel.limitMemory(bytes, memoryMB));
        new WKernel(module, null, null, memoryMB);  // checks its exports
        modules.set(sha, module);
      }
      kernelSha = sha;
      kernelStatic = staticData;
      ++kernelEpoch;
      return '';
    } catch (e) {
      return 'kernel cannot run in this browser: ' + (e && e.message ? e.message : e);
    }
  },
  // Adds a task to the next slice.
  addTask(id, input) {
    tasks.push({ id, input });
  },
  // Runs the slice in the kernel worker; results come to _w_browser_task_done.
  runTasks(batch, sliceMs) {
    const slice = tasks;
    tasks = [];
    innerSend(() => {
      innerKernel();
      inner.busy = 'tasks';
      inner.port.postMessage({ cmd: 'tasks', batch, sliceMs, tasks: slice },
        slice.map((t) => t.input.buffer));
    });
  },
  // The watchdog: the running task is past its timeout.
  stopKernel() {
    innerStop();
  },
  // Starts a member of a coupled task; returns '' or why it cannot run here.
  memberStart(input, rank, size) {
    if (!isolated)
      return 'coupled tasks need a cross-origin isolated page (SharedArrayBuffer): ' +
        'serve it over https or from localhost, with COOP and COEP headers';
    if (!modules.has(kernelSha)) return 'no kernel loaded';
    innerSend(() => {
      innerKernel();
      inner.busy = 'member';
      inner.port.postMessage({ cmd: 'run', sab: inner.sab, input, rank, size });
    });
    return '';
  },
  // Answers the member's waiting call: its rc and, for a w_recv, the message.
  memberAnswer(rc, bytes) {
    if (!inner || !inner.sab) return;
    const n = bytes ? Math.min(bytes.length, MESSAGE_MAX) : 0;
    if (n) inner.data.set(bytes.subarray(0, n));
    inner.ctl[1] = rc;
    inner.ctl[2] = n;
    Atomics.store(inner.ctl, 0, 1);
    Atomics.notify(inner.ctl, 0);
  },
  // Stops the member at once (its run was aborted or timed out).
  memberStop() {
    innerStop();
  },
  // Copies the bytes of the call or result being handled into wrun.wasm's memory.
  takePending(heap, p) {
    if (pending) heap.set(pending, p);
  },
  // Asks the page for a DataChannel from local member `rank` to `peer`.
  channelOpen(sig, group, rank, peer) {
    const key = `${group}/${rank}/${peer}`;
    channels.set(key, { port: null, closed: false });
    self.postMessage({ type: 'dc-open', key, sig, group, rank, peer });
  },
  channelSend(group, rank, peer, bytes) {
    const c = channels.get(`${group}/${rank}/${peer}`);
    if (c && c.port) c.port.postMessage(bytes.buffer, [bytes.buffer]);
  },
  channelClose(group, rank, peer) {
    const key = `${group}/${rank}/${peer}`;
    const c = channels.get(key);
    if (!c) return;
    if (c.port) {
      c.port.postMessage({ close: true });
      c.port.close();
      channels.delete(key);
    } else {
      c.closed = true;  // the port, when it comes, is closed at once
    }
  },
  setMaxOutput(bytes) {
    maxOutput = bytes;
  },
  // The JS heap in use where the browser tells it (Chromium's
  // performance.memory), else 0: a page cannot see its process's memory.
  heapBytes() {
    const m = self.performance && self.performance.memory;
    return m ? m.usedJSHeapSize : 0;
  },
  // Members of coupled tasks need SharedArrayBuffer: a page that is not
  // cross-origin isolated tells the pool so in its hello.
  coupled() {
    return isolated;
  },
  status(json) {
    self.postMessage(Object.assign({ type: 'status' }, JSON.parse(json)));
  },
};

