// kernel_worker.js — runs the members of coupled tasks for worker.js, in a
// Web Worker of its own (one per slot, started on the first member).
//
// A member's w_recv and w_barrier must block the kernel until the message
// arrives, and a kernel runs synchronously: so it runs here, and worker.js
// (whose thread stays free for the pool's and wsig's WebSockets) answers
// each call through a SharedArrayBuffer the kernel's thread waits on with
// Atomics.wait. Layout of the buffer: Int32 [0] state (0 waiting, 1
// answered), [1] rc, [2] message length; the message's bytes from byte 16.
// The page must be cross-origin isolated for SharedArrayBuffer (wpool sends
// COOP and COEP with its pages).
//
// worker.js → here: {cmd: 'run', module, epoch, staticData, sab, input, rank, size}
// (a new epoch: a new campaign, so a fresh instance and w_init).
// here → worker.js: {type: 'call', call: 1 send | 2 recv | 3 barrier, peer,
// bytes, timeout}, then {type: 'done', output | error, ms}.
'use strict';
importScripts('kernel.js');

const CALL_SEND = 1, CALL_RECV = 2, CALL_BARRIER = 3;
let ctl = null, data = null;
let kernel = null, kernelEpoch = -1;

// Sends one call to worker.js and sleeps until it is answered.
function call(kind, peer, bytes, timeout) {
  Atomics.store(ctl, 0, 0);
  self.postMessage({ type: 'call', call: kind, peer, bytes, timeout });
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

self.onmessage = (event) => {
  const m = event.data;
  if (m.cmd !== 'run') return;
  ctl = new Int32Array(m.sab, 0, 4);
  data = new Uint8Array(m.sab, 16);
  const t0 = performance.now();
  let r;
  try {
    if (kernelEpoch !== m.epoch) {
      kernel = new WKernel(m.module, m.staticData, host);
      kernelEpoch = m.epoch;
    }
    r = kernel.run(m.input, { rank: m.rank, size: m.size });
  } catch (e) {
    kernel = null;
    kernelEpoch = -1;
    r = { error: 'kernel cannot run in this browser: ' + (e && e.message ? e.message : e) };
  }
  self.postMessage(Object.assign({ type: 'done', ms: performance.now() - t0 }, r));
};
