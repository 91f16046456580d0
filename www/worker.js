// worker.js — one Web Worker = one pool slot. Loads wrun.wasm (the pool
// protocol, in C++) and gives it self.wkitHost: the kernel, compiled and
// run here (kernel.js), never on the page's thread.
//
// Page → worker: {cmd: 'start', pool, name, key, throttle, score}, {cmd: 'pause'},
// {cmd: 'resume'}, {cmd: 'throttle', percent}.
// Worker → page: {type: 'status', state, campaign, done, failed, ...},
// {type: 'log', text}.
//
// Members of coupled tasks run in an inner Web Worker (kernel_worker.js),
// because their w_recv blocks: this thread carries their messages (wrun.wasm
// routes them, to other members through wsig's relay) and answers each call
// through a SharedArrayBuffer.
//
// Two browser members of one run also try a WebRTC DataChannel, which only
// the page can open: this thread asks it ({type: 'dc-open', sig, group,
// rank, peer}) and gets a MessagePort ({cmd: 'dc-port', key, port}) that
// carries {ev: 'open'}, {ev: 'data', bytes} and {ev: 'closed', why} from the
// channel, and bytes and {close: true} to it (datachannel.js).
'use strict';
importScripts('kernel.js');

const modules = new Map();  // sha256 → WebAssembly.Module, compiled once
let kernel = null;
let kernelSha = '', kernelStatic = null, kernelEpoch = 0;  // epoch: one per useKernel
// The member's inner worker and the buffer its calls are answered through:
// room for the largest message (W_MESSAGE_MAX) after a 16-byte header.
const MESSAGE_MAX = 16 << 20;
let member = null;  // {worker, sab, ctl, data}
let pending = null;  // bytes of the inner worker's last call or result, for wrun.wasm

// Starts the inner worker ahead of need: one started in the middle of a
// group run takes seconds to come up in Chromium, and the others wait.
function memberSpawn() {
  if (member || typeof SharedArrayBuffer === 'undefined' || !self.crossOriginIsolated) return;
  const sab = new SharedArrayBuffer(16 + MESSAGE_MAX);
  member = { worker: new Worker('kernel_worker.js'), sab, ctl: new Int32Array(sab, 0, 4),
    data: new Uint8Array(sab, 16) };
  member.worker.onmessage = memberMessage;
  member.worker.onerror = (e) => {
    e.preventDefault();
    memberMessage({ data: { type: 'done', error: 'kernel worker: ' + e.message, ms: 0 } });
  };
}

function memberMessage(event) {
  const m = event.data;
  if (m.type === 'call') {
    pending = m.bytes || null;
    Module._w_browser_member_call(m.call, m.peer, pending ? pending.length : 0, m.timeout);
  } else if (m.type === 'done') {
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
  // Returns '' or why the kernel cannot run here.
  useKernel(sha, bytes, staticData) {
    try {
      if (bytes) modules.set(sha, new WebAssembly.Module(bytes));
      kernelSha = sha;
      kernelStatic = staticData;
      ++kernelEpoch;
      kernel = new WKernel(modules.get(sha), staticData);
      kernel.start();
      return '';
    } catch (e) {
      kernel = null;
      return 'kernel cannot run in this browser: ' + (e && e.message ? e.message : e);
    }
  },
  run(input) {
    return kernel ? kernel.run(input) : { error: 'no kernel loaded' };
  },
  // Starts a member of a coupled task; returns '' or why it cannot run here.
  memberStart(input, rank, size) {
    if (typeof SharedArrayBuffer === 'undefined' || !self.crossOriginIsolated)
      return 'coupled tasks need a cross-origin isolated page (SharedArrayBuffer): ' +
        'serve it over https or from localhost, with COOP and COEP headers';
    if (!modules.has(kernelSha)) return 'no kernel loaded';
    memberSpawn();
    member.worker.postMessage({ cmd: 'run', module: modules.get(kernelSha), epoch: kernelEpoch,
      staticData: kernelStatic, sab: member.sab, input, rank, size });
    return '';
  },
  // Answers the member's waiting call: its rc and, for a w_recv, the message.
  memberAnswer(rc, bytes) {
    if (!member) return;
    const n = bytes ? Math.min(bytes.length, MESSAGE_MAX) : 0;
    if (n) member.data.set(bytes.subarray(0, n));
    member.ctl[1] = rc;
    member.ctl[2] = n;
    Atomics.store(member.ctl, 0, 1);
    Atomics.notify(member.ctl, 0);
  },
  // Stops the member at once (its run was aborted) and starts a new inner worker.
  memberStop() {
    if (member) member.worker.terminate();
    member = null;
    memberSpawn();
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
  await ready;
  if (m.cmd === 'start') {
    memberSpawn();
    Module.ccall('w_browser_start', null, ['string', 'string', 'string', 'number', 'number'],
      [m.pool, m.name || 'browser', m.key || '', m.throttle || 100, m.score || 0]);
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
