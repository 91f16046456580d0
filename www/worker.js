// worker.js — one Web Worker = one pool slot. Loads wrun.wasm (the pool
// protocol, in C++) and gives it self.wkitHost (wkit_host.js; the contract
// is lib/src/worker/browser_host.h). The kernel never runs on
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
importScripts('kernel.js', 'wkit_host.js');

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
    const memory = setMemoryMB(m.memory);
    Module.ccall('w_browser_start', null,
      ['string', 'string', 'string', 'number', 'number', 'number', 'string'],
      [m.pool, m.name || 'browser', m.key || '', m.throttle || 100, m.score || 0, memory,
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
