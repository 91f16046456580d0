// bench.js — a Web Worker that rates this browser once: wbench.wasm (the
// Dhrystone 2.1 of wbench(1), same sources and checks) measures for at
// least `seconds` and the result goes back to the page, never run on the
// page's thread.
//
// Page → worker: {cmd: 'run', seconds}.
// Worker → page: {type: 'score', dhrystones_per_second, dmips, runs, seconds,
// measurements}
// or {type: 'score', error}.
'use strict';

const ready = new Promise((resolve, reject) => {
  self.Module = {
    onRuntimeInitialized: resolve,
    onAbort: (what) => reject(new Error(String(what))),
    print: () => {},
    printErr: () => {},
  };
});
try {
  importScripts('wbench.js');
} catch (e) {
  self.Module.onAbort('wbench.js: ' + (e && e.message ? e.message : e));
}

self.onmessage = async (event) => {
  const m = event.data;
  if (m.cmd !== 'run') return;
  try {
    await ready;
    const r = JSON.parse(Module.ccall('w_wbench_run', 'string', ['number'], [m.seconds || 0.5]));
    self.postMessage(Object.assign({ type: 'score' }, r));
  } catch (e) {
    self.postMessage({ type: 'score', error: String(e && e.message ? e.message : e) });
  }
};
