// worker.js — one Web Worker = one pool slot. Loads wrun.wasm (the pool
// protocol, in C++) and gives it self.wkitHost. The kernel never runs on
// this thread: it runs in the slot's kernel Web Worker (kernel_worker.js),
// so this one stays free for the pool's WebSocket and is the kernel's
// watchdog (wrun.wasm stops the kernel when a task runs past the
// campaign's timeout).
//
// The page starts the kernel's Web Worker and hands this one a MessagePort
// to it ({cmd: 'kernel-port', port, gen}); to stop the kernel, this one
// closes the port and asks for another ({type: 'kernel-restart'}), and the
// page terminates the old one. Not `new Worker()` here: Firefox can block a
// Web Worker for good in that constructor when sibling workers construct
// nested ones at the same moment (a page of 8 workers in 4 of 10 loads).
//
// Page → worker: {cmd: 'start', pool, name, key, throttle, score, memory, workerKey},
// {cmd: 'kernel-port', port, gen}, {cmd: 'kernel-error', gen, message} (an
// uncaught error in kernel_worker.js), {cmd: 'pause'}, {cmd: 'resume'},
// {cmd: 'throttle', percent}.
// Worker → page: {type: 'status', state, campaign, done, failed, ...},
// {type: 'kernel-restart'}, {type: 'log', text}.
//
// Members of coupled tasks run in the kernel's worker too, because their
// w_recv blocks: this thread carries their messages (wrun.wasm routes them,
// to other members through wsig's relay) and answers each call through a
// SharedArrayBuffer.
//
// Two browser members of one run also try a WebRTC DataChannel, which only
// the page can open: this thread asks it ({type: 'dc-open', sig, group,
// rank, peer}) and gets a MessagePort ({cmd: 'dc-port', key, port}) that
// carries {ev: 'open'}, {ev: 'data', bytes} and {ev: 'closed', why} from the
// channel, and bytes and {close: true} to it (datachannel.js).
'use strict';
importScripts('kernel.js');

const modules = new Map();  // sha256 → WebAssembly.Module, compiled (memory-capped) once
let kernelSha = '', kernelStatic = null, kernelEpoch = 0;  // epoch: one per useKernel
// The kernel's memory cap in MB (the page's setting, as wrun --memory).
const MEMORY_MIN = 16, MEMORY_MAX = 4096;
let memoryMB = 512;
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
  status(json) {
    self.postMessage(Object.assign({ type: 'status' }, JSON.parse(json)));
  },
};

const ready = new Promise((resolve) => {
  self.Module = {
    onRuntimeInitialized: resolve,
    print: (text) => self.postMessage({ type: 'log', text }),
    printErr: (text) => self.postMessage({ type: 'log', text }),
  };
});
importScripts('wrun.js');

self.onmessage = async (event) => {
  const m = event.data;
  if (m.cmd === 'kernel-port') return innerAttach(m.port, m.gen);
  await ready;
  if (m.cmd === 'start') {
    memoryMB = Math.min(MEMORY_MAX, Math.max(MEMORY_MIN, Math.round(Number(m.memory)) || memoryMB));
    Module.ccall('w_browser_start', null,
      ['string', 'string', 'string', 'number', 'number', 'number', 'string'],
      [m.pool, m.name || 'browser', m.key || '', m.throttle || 100, m.score || 0, memoryMB,
        m.workerKey || '']);
  } else if (m.cmd === 'kernel-error') {
    innerError(m.gen, m.message);
  } else if (m.cmd === 'dc-port') {
    channelPort(m.key, m.port);
  } else if (m.cmd === 'pause') {
    Module._w_browser_pause();
  } else if (m.cmd === 'resume') {
    Module._w_browser_resume();
  } else if (m.cmd === 'throttle') {
    Module._w_browser_throttle(m.percent);
  }
};
