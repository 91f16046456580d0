// volunteer.js — the volunteer page: starts one Web Worker per slot, each
// running wrun.wasm (worker.js) against the pool, and shows what they do.
// The kernels run inside those workers; this thread only draws.
//
// The pool is the origin that served the page, or ?pool=ws://host:port;
// ?workers=N, ?throttle=P and ?memory=MB preset the controls, ?cap=CAP
// (an invitation: a capability with the work right; the older ?key=K
// works too) is passed on, ?autojoin=1 joins at once (for embedding in an
// <iframe>).
//
// Each slot is two Web Workers started here: worker.js (wrun.wasm and the
// pool connection) and the kernel's (kernel_worker.js), joined by a
// MessageChannel. worker.js is the kernel's watchdog: a task past the
// campaign's timeout fails with "timeout" and worker.js asks for a new
// kernel worker, which this page starts after terminating the old one (not
// worker.js itself: Firefox can block a Web Worker for good in `new
// Worker()` when its siblings construct theirs at the same moment). A
// kernel whose memory grows past the memory setting (MB per worker, as
// wrun --memory) fails its task with "out of memory".
//
// On load a short Dhrystone run (wbench.wasm in its own Web Worker,
// bench.js) rates this browser, once a day (kept in localStorage, so a new
// tab does not measure again); the page shows the score and every worker
// sends it to the pool in its hello.
//
// The browser's identity: a random key made on its first visit and kept in
// localStorage (wrun keeps its own in its cache), sent in every worker's
// hello; the pool knows a worker by the key's hash, so a flag or a
// quarantine outlives a reload. Each Web Worker sends the key with its own
// name appended: the pool counts tasks, slots and leases per identity and
// connection alike, and a page's workers are separate connections (any
// stranger can make as many keys as it likes; a key is continuity, not
// proof of being one machine).
'use strict';

const params = new URLSearchParams(location.search);
const invitation = params.get('cap') || params.get('key') || '';
const poolUrl = params.get('pool') ||
  (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
const $ = (id) => document.getElementById(id);
const slots = [];  // {worker, kernel, gen, status}
let paused = false;
const history = [];  // [time ms, total done] for the rate over the last 10 s

$('pool').textContent = poolUrl;
$('workers').value = params.get('workers') || navigator.hardwareConcurrency || 2;
if (params.get('memory')) $('memory').value = params.get('memory');
if (params.get('throttle')) {
  const radio = document.querySelector(`input[name=throttle][value="${params.get('throttle')}"]`);
  if (radio) radio.checked = true;
}

function throttle() {
  return Number(document.querySelector('input[name=throttle]:checked').value);
}

// This browser's Dhrystone score: {dhrystones_per_second, dmips, runs,
// seconds, measurements} or {error}; null while it is measured.
const BENCH_KEY = 'wkit.dhrystone';
const BENCH_SECONDS = 0.1;  // all 20 measurements; ~0.15 s with calibration: the first
                            // visit's first result waits for it (target < 500 ms)
const BENCH_MAX_AGE_MS = 24 * 3600 * 1000;  // then measure again (a new browser, a new CPU)
let bench = null;

const WORKER_KEY = 'wkit-worker-key';
function workerKey() {
  try {
    let key = localStorage.getItem(WORKER_KEY);
    if (!/^[0-9a-f]{64}$/.test(key || '')) {
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      key = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      localStorage.setItem(WORKER_KEY, key);
    }
    return key;
  } catch (e) {
    return '';  // no localStorage (a sandboxed frame): known per connection
  }
}

function cachedScore() {
  try {
    const { at, ...r } = JSON.parse(localStorage.getItem(BENCH_KEY)) || {};
    return r.dhrystones_per_second > 0 && Date.now() - at < BENCH_MAX_AGE_MS ? r : null;
  } catch (e) {
    return null;  // no localStorage (a sandboxed frame): measure again
  }
}

function measure() {
  const cached = cachedScore();
  if (cached) return Promise.resolve(cached);
  return new Promise((resolve) => {
    let worker;
    const finish = (r) => {
      clearTimeout(timer);
      if (worker) worker.terminate();
      if (r.dhrystones_per_second > 0) {
        try {
          localStorage.setItem(BENCH_KEY, JSON.stringify({ ...r, at: Date.now() }));
        } catch (e) { /* unsaved: the next page measures again */ }
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish({ error: 'Dhrystone did not finish in 30 s' }), 30000);
    try {
      worker = new Worker('bench.js');
    } catch (e) {
      return finish({ error: String(e.message || e) });
    }
    worker.onmessage = (e) => { if (e.data.type === 'score') finish(e.data); };
    worker.onerror = (e) => { e.preventDefault(); finish({ error: e.message || 'bench.js failed' }); };
    worker.postMessage({ cmd: 'run', seconds: BENCH_SECONDS });
  });
}

const scored = measure().then((r) => {
  bench = r;
  drawScore();
  return r.dhrystones_per_second > 0 ? r.dhrystones_per_second : 0;
});

function drawScore() {
  const el = $('score');
  if (!bench) el.textContent = 'measuring…';
  else if (bench.error) el.textContent = 'unavailable (' + bench.error + ')';
  else el.textContent = Math.round(bench.dhrystones_per_second).toLocaleString('en') +
    ' Dhrystones/s, ' + bench.dmips.toFixed(1) + ' DMIPS';
}

// Starts slot's kernel worker (terminating the one before) and hands
// worker.js its port; `gen` tells its errors from an old one's.
function startKernel(slot) {
  if (slot.kernel) slot.kernel.terminate();
  const kernel = new Worker('kernel_worker.js');
  const gen = ++slot.gen;
  const channel = new MessageChannel();
  kernel.postMessage({ cmd: 'port', port: channel.port1 }, [channel.port1]);
  kernel.onerror = (e) => {
    e.preventDefault();
    slot.worker.postMessage({ cmd: 'kernel-error', gen, message: e.message });
  };
  slot.worker.postMessage({ cmd: 'kernel-port', port: channel.port2, gen }, [channel.port2]);
  slot.kernel = kernel;
}

async function join() {
  $('join').disabled = true;
  $('workers').disabled = true;
  $('memory').disabled = true;
  if (!bench) $('state').textContent = 'measuring this browser';
  // The workers load and compile wrun.wasm while the rating runs (it keeps
  // its fastest of 20 measurements, so the few this slows do not count);
  // none connects before the score is known, for its hello.
  const n = Math.max(1, Math.min(64, Number($('workers').value) || 1));
  const memory = Math.max(16, Math.min(4096, Number($('memory').value) || 512));
  const starting = [];
  for (let i = 0; i < n; i++) {
    const worker = new Worker('worker.js');
    const slot = { worker, kernel: null, gen: 0, status: { state: 'starting', done: 0, failed: 0 } };
    worker.onmessage = (e) => {
      if (e.data.type === 'kernel-restart') return startKernel(slot);
      if (e.data.type === 'status') slot.status = e.data;
      draw();
    };
    if (window.wkitChannels) wkitChannels.attach(worker);  // members' DataChannels
    worker.onerror = (e) => {
      slot.status = { state: 'crashed', done: slot.status.done, failed: slot.status.failed,
        detail: e.message };
      draw();
    };
    startKernel(slot);
    starting.push({ worker, name: 'browser-' + (i + 1) });
    slots.push(slot);
  }
  const score = await scored;
  const key = workerKey();
  for (const { worker, name } of starting)
    worker.postMessage({ cmd: 'start', pool: poolUrl, name, key: invitation,
      throttle: throttle(), score, memory, workerKey: key && key + '/' + name });
  $('pause').disabled = false;
  draw();
}

function togglePause() {
  paused = !paused;
  for (const s of slots) s.worker.postMessage({ cmd: paused ? 'pause' : 'resume' });
  $('pause').textContent = paused ? 'Resume' : 'Pause';
  $('pause').setAttribute('aria-pressed', String(paused));
}

function overall() {
  const states = slots.map((s) => s.status.state);
  if (!slots.length) return 'not joined';
  for (const s of ['working', 'fetching', 'idle', 'connecting', 'paused', 'disconnected', 'refused'])
    if (states.includes(s)) return s === 'idle' ? 'connected, idle' : s;
  return states[0];
}

// What the pool or a worker said, in a volunteer's words: the pool's own
// messages are written for wpool's command line (--cap, W_CAP).
function words(state, detail) {
  detail = detail || '';
  if (state === 'refused') {
    if (/version/i.test(detail)) return 'This page is older than the pool: reload it.';
    if (!/capabilit|key|denied|right|expired/i.test(detail))
      return 'The pool did not let this browser join (it said: ' + detail + ').';
    return invitation
      ? 'The pool did not accept the invitation in this link: it may have expired or be ' +
        "for another pool. Ask the pool's owners for a new link."
      : "This pool takes only invited browsers. Open the link the pool's owners gave you " +
        '(it ends in ?cap=…) to join.';
  }
  if (state === 'disconnected') return 'The connection to the pool was lost; trying again…';
  if (state === 'crashed') return 'A worker stopped with an error: reload the page to start again.';
  return detail;
}

function draw() {
  const done = slots.reduce((a, s) => a + (s.status.done || 0), 0);
  const failed = slots.reduce((a, s) => a + (s.status.failed || 0), 0);
  $('state').textContent = overall();
  $('done').textContent = done;
  $('failed').textContent = failed;
  const campaigns = [...new Set(slots.map((s) => s.status.campaign).filter(Boolean))];
  $('campaign').textContent = campaigns.join(', ') || '—';
  const rows = slots.map((s, i) =>
    `<tr><td data-label="#">${i + 1}</td><td data-label="State">${esc(s.status.state)}</td>` +
    `<td data-label="Done">${s.status.done || 0}</td><td data-label="Failed">${s.status.failed || 0}</td>` +
    `<td data-label="Last message">${esc(words(s.status.state, s.status.detail))}</td></tr>`);
  $('slots').innerHTML = rows.join('');
  // One notice for what needs the volunteer: the first refused or lost slot.
  const trouble = slots.find((s) => ['refused', 'crashed', 'disconnected'].includes(s.status.state));
  $('notice').hidden = !trouble;
  $('notice').textContent = trouble ? words(trouble.status.state, trouble.status.detail) : '';
}

function esc(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

setInterval(() => {
  const now = performance.now();
  const done = slots.reduce((a, s) => a + (s.status.done || 0), 0);
  history.push([now, done]);
  while (history.length > 1 && now - history[0][0] > 10000) history.shift();
  const [t0, d0] = history[0];
  const rate = now > t0 ? (done - d0) * 1000 / (now - t0) : 0;
  $('rate').textContent = rate.toFixed(1) + ' tasks/s';
}, 1000);

drawScore();
if (invitation) $('dashboard-link').href = 'dashboard.html?cap=' + encodeURIComponent(invitation);
$('join').addEventListener('click', join);
$('pause').addEventListener('click', togglePause);
for (const radio of document.querySelectorAll('input[name=throttle]'))
  radio.addEventListener('change', () => {
    for (const s of slots) s.worker.postMessage({ cmd: 'throttle', percent: throttle() });
  });
if (params.get('autojoin') === '1') join();

// For tests and embedding pages: a read-only view of the state.
window.wkit = {
  get slots() { return slots.map((s) => Object.assign({}, s.status)); },
  get paused() { return paused; },
  get score() { return bench && Object.assign({}, bench); },
};
