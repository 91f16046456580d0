// Helpers for the browser worker's tests: a real `wpool serve` on a free
// port serving build/www, the wkit command-line clients, and headless
// Chromium (Debian's, driven by playwright-core). Stops only what it started.
'use strict';
const { spawn, execFile, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BIN = process.env.W_BIN;
const KERNELS = process.env.W_KERNELS || path.join(BIN, '../kernels');
const BUILD = process.env.W_BUILD || path.join(BIN, '..');
const CHROMIUM = process.env.W_CHROMIUM || '/usr/bin/chromium';
const started = [];

function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wkit-browser-'));
}

// Spawns BIN/program with args; resolves, once its log says "listening on
// 127.0.0.1:PORT", {port, proc, http, log()} and what urls(port) adds.
function startListening(program, args, urls) {
  const proc = spawn(path.join(BIN, program), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(proc);
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${program} did not start: ` + log)), 10000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m && timer) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({ port, proc, ...urls(port), http: `http://127.0.0.1:${port}`, log: () => log });
      }
    });
    proc.on('exit', (code) => reject(new Error(`${program} exited ${code}: ${log}`)));
  });
}

// Starts wpool serve on 127.0.0.1:0 with build/www (and `extra` flags);
// resolves {port, ws, http, log()}.
function startPool(dir, extra = []) {
  return startListening('wpool',
    ['serve', '--db', path.join(dir, 'pool.db'), '--listen', '127.0.0.1:0',
      '--www', path.join(BUILD, 'www'), '--heartbeat', '1s', ...extra],
    (port) => ({ ws: `ws://127.0.0.1:${port}` }));
}

// Starts a real wsig on 127.0.0.1:0; resolves {port, url, http, log()}.
function startWsig() {
  return startListening('wsig', ['-p', '0', '-H', '127.0.0.1'],
    (port) => ({ url: `ws://127.0.0.1:${port}/` }));
}

// Starts a native pool worker; returns its process.
function startNativeWorker(pool, dir, name, jobs = 1) {
  const proc = spawn(path.join(BIN, 'wrun'),
    [pool.ws, '--name', name, '--cache', path.join(dir, 'cache-' + name), '-j', String(jobs)],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(proc);
  return proc;
}

// Runs a wkit program to completion; returns stdout (throws with stderr on failure).
function run(program, args, input) {
  return execFileSync(path.join(BIN, program), args,
    { input, encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120000 });
}

// run() without blocking the event loop: a page's Web Workers start only
// while playwright answers Chromium, so a poll that blocks (a slow TLS
// handshake, an ASan build) can hold them back for as long as it polls.
function runAsync(program, args) {
  return new Promise((resolve, reject) => {
    execFile(path.join(BIN, program), args, { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 120000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${program}: ${err.message}${stderr}`)) : resolve(stdout)));
  });
}

// JSON Lines → array of objects.
function lines(text) {
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function launch() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// A new page on `browser` whose console messages and uncaught errors
// collect in `logs`, for failure messages; with workerLogs, what its Web
// Workers print (wrun.wasm's warnings) goes to the page's console too.
// Resolves {page, logs}.
async function newPage(browser, { workerLogs = false } = {}) {
  // A context of its own (as browser.newPage() makes) that may hold more
  // tabs: page.context().newPage() is a second tab of the same profile.
  const page = await (await browser.newContext()).newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
  if (workerLogs) {
    await page.addInitScript(() => {
      const Base = self.Worker;
      self.Worker = class extends Base {
        constructor(...args) {
          super(...args);
          this.addEventListener('message', (e) => {
            if (e.data && e.data.type === 'log') console.log('worker: ' + e.data.text);
          });
        }
      };
    });
  }
  return { page, logs };
}

// Polls fn() until it returns a truthy value; throws `what` after ms.
async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function status(pool) {
  const r = await fetch(pool.http + '/api/status');
  return r.json();
}

function stopAll() {
  for (const p of started) if (p.exitCode === null) p.kill('SIGKILL');
}
process.on('exit', stopAll);

module.exports = { BIN, KERNELS, BUILD, tmpdir, startPool, startWsig, startNativeWorker, run, runAsync, lines, launch,
  newPage, until, status, stopAll };
