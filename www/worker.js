// worker.js — one Web Worker = one pool slot. Loads wrun.wasm (the pool
// protocol, in C++) and gives it self.wkitHost: the kernel, compiled and
// run here (kernel.js), never on the page's thread.
//
// Page → worker: {cmd: 'start', pool, name, key, throttle}, {cmd: 'pause'},
// {cmd: 'resume'}, {cmd: 'throttle', percent}.
// Worker → page: {type: 'status', state, campaign, done, failed, ...},
// {type: 'log', text}.
'use strict';
importScripts('kernel.js');

const modules = new Map();  // sha256 → WebAssembly.Module, compiled once
let kernel = null;

self.wkitHost = {
  hasKernel(sha) {
    return modules.has(sha);
  },
  // Returns '' or why the kernel cannot run here.
  useKernel(sha, bytes, staticData) {
    try {
      if (bytes) modules.set(sha, new WebAssembly.Module(bytes));
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
    Module.ccall('w_browser_start', null, ['string', 'string', 'string', 'number'],
      [m.pool, m.name || 'browser', m.key || '', m.throttle || 100]);
  } else if (m.cmd === 'pause') {
    Module._w_browser_pause();
  } else if (m.cmd === 'resume') {
    Module._w_browser_resume();
  } else if (m.cmd === 'throttle') {
    Module._w_browser_throttle(m.percent);
  }
};
