// kernel_worker.js — the kernel's own Web Worker: one per slot, started by
// the page beside the slot's worker.js, which runs wrun.wasm and the pool's
// WebSocket on its thread and never runs kernel code itself. So a kernel
// that loops or hangs blocks only this thread: worker.js, the watchdog,
// sees the task run past the campaign's timeout, drops its port to this
// worker and has the page terminate it and start another, and the pool
// connection never notices.
//
// The page's first message is {cmd: 'port', port}: a MessagePort to
// worker.js, which every message below goes through; this worker answers
// it with {type: 'ready'}, and worker.js sends nothing before that (Firefox
// cannot deserialize a WebAssembly.Module posted while the port's other
// end is still on its way here: a messageerror).
//
// Ordinary tasks come in slices: this worker runs the tasks of a `tasks`
// message in order and posts each result as it ends (so worker.js always
// knows which task is running, and since when), stopping after sliceMs so
// that worker.js can rest for the throttle and take pause in between; the
// last result of a slice says `end` and the tasks after it were not run.
//
// Members of coupled tasks run here too, because their w_recv blocks: it
// calls worker.js (whose thread carries their messages) and sleeps on a
// SharedArrayBuffer until it is answered. Layout of the buffer: Int32 [0]
// state (0 waiting, 1 answered), [1] rc, [2] message length; the message's
// bytes from byte 16. The page must be cross-origin isolated for
// SharedArrayBuffer (wpool sends COOP and COEP with its pages).
//
// worker.js → here:
//   {cmd: 'kernel', epoch, module, staticData, memoryMB}: the campaign's
//     kernel (a new epoch: fresh instances, w_init run again);
//   {cmd: 'tasks', batch, sliceMs, tasks: [{id, input}]};
//   {cmd: 'run', sab, input, rank, size}: one member.
// here → worker.js:
//   {type: 'ready'} once, on the port;
//   {type: 'started', batch}, then {type: 'result', batch, id, output |
//     error, ms, end} per task;
//   {type: 'call', call: 1 send | 2 recv | 3 barrier, peer, bytes, timeout},
//   then {type: 'done', output | error, ms} for a member.
'use strict';
importScripts('kernel.js');

const CALL_SEND = 1, CALL_RECV = 2, CALL_BARRIER = 3;
let ctl = null, data = null;
let out = null;  // the port to worker.js
let current = null;  // {epoch, module, staticData, memoryMB} or {error} of the campaign's kernel
let plain = null, member = null;  // WKernel instances: tasks, and members (with host)

// Sends one call to worker.js and sleeps until it is answered.
function call(kind, peer, bytes, timeout) {
  Atomics.store(ctl, 0, 0);
  out.postMessage({ type: 'call', call: kind, peer, bytes, timeout });
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0);
  return { rc: ctl[1], length: ctl[2] };
}

const host = {
  send(to, bytes) {
    return call(CALL_SEND, to, bytes, -1).rc;
  },
  recv(from, timeout) {
    const a = call(CALL_RECV, from, null, timeout);
    return a.rc < 0 ? a.rc : data.slice(0, a.length);
  },
  barrier(timeout) {
    return call(CALL_BARRIER, 0, null, timeout).rc;
  },
};

// A WKernel for the current kernel, or {error} when it cannot be made.
function kernelFor(withHost) {
  if (!current) return { error: 'no kernel loaded' };
  if (current.error) return current;
  try {
    return new WKernel(current.module, current.staticData, withHost ? host : null, current.memoryMB);
  } catch (e) {
    return { error: 'kernel cannot run in this browser: ' + (e && e.message ? e.message : e) };
  }
}

function runTasks(m) {
  out.postMessage({ type: 'started', batch: m.batch });  // the tasks' clock starts
  if (!plain) plain = kernelFor(false);
  const start = performance.now();
  for (let i = 0; i < m.tasks.length; i++) {
    const t0 = performance.now();
    const r = plain.error ? { error: plain.error } : plain.run(m.tasks[i].input);
    const now = performance.now();
    const end = i + 1 === m.tasks.length || now - start >= m.sliceMs;
    out.postMessage(Object.assign({ type: 'result', batch: m.batch, id: m.tasks[i].id,
      ms: now - t0, end }, r), r.output ? [r.output.buffer] : []);
    if (end) return;
  }
}

function runMember(m) {
  ctl = new Int32Array(m.sab, 0, 4);
  data = new Uint8Array(m.sab, 16);
  const t0 = performance.now();
  if (!member) member = kernelFor(true);
  const r = member.error ? { error: member.error } : member.run(m.input, { rank: m.rank, size: m.size });
  out.postMessage(Object.assign({ type: 'done', ms: performance.now() - t0 }, r));
}

function handle(event) {
  const m = event.data;
  if (m.cmd === 'kernel') {
    current = m;
    plain = member = null;
  } else if (m.cmd === 'tasks') {
    runTasks(m);
  } else if (m.cmd === 'run') {
    runMember(m);
  }
}

self.onmessage = (event) => {
  if (event.data.cmd !== 'port' || out) return;
  out = event.data.port;
  out.onmessage = handle;
  // A message that cannot be deserialized here (a kernel module, say):
  // the tasks fail with the reason until the next kernel.
  out.onmessageerror = () => {
    current = { error: 'the kernel could not be passed to its Web Worker' };
    plain = member = null;
  };
  out.postMessage({ type: 'ready' });
};
