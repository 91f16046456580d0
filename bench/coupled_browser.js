// bench/coupled_browser.sh's driver: w_send/w_recv between two browser
// members of coupled tasks (issue 7). A real wsig, a real `wpool serve
// --sig`, the volunteer page in headless Chromium with 2 Web Workers (one
// slot each); a --group 2 campaign of bench/pingpong.c (REPS tasks) runs
// both ranks on the page,
//   (a) over WebRTC DataChannels the page opens through wsig's signalling,
//   (b) on a fresh page with ?datachannel=fail, over wsig's relay.
// Prints one JSON line per case: {case, rtt_ms, stream_mb_s (best of the
// runs), runs, relay_frames, channels (the page's wkitChannels.stats)}, and
// {case: 'raw', stream_mb_s}: the browser's own DataChannel, the floor.
//   W_BIN, W_BUILD, W_KERNELS   the build;  N SIZE STREAM_N STREAM_SIZE REPS
//
// The kernel times itself with clock_gettime(CLOCK_MONOTONIC), which
// www/kernel.js answers from performance.now().
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { execFile } = require('node:child_process');
const lib = require('../test/integration/browser/lib');

const env = (k, d) => Number(process.env[k] || d);
const N = env('N', 2000), SIZE = env('SIZE', 64), STREAM_N = env('STREAM_N', 50);
const STREAM_SIZE = env('STREAM_SIZE', 1048576), REPS = env('REPS', 3);
const kernel = path.join(lib.KERNELS, 'pingpong.so');

function wait(pool, name) {
  return new Promise((resolve, reject) => {
    execFile(path.join(lib.BIN, 'wpool'), ['wait', name, '--pool', pool.ws, '--timeout', '170s'],
      { timeout: 180000 }, (e, stdout, stderr) => (e ? reject(new Error(stderr || e.message)) : resolve()));
  });
}

async function relayFrames(sig) {
  const metrics = await (await fetch(sig.http + '/metrics')).text();
  return Number((/^wsig_relay_frames_total (\d+)/m.exec(metrics) || [0, 0])[1]);
}

async function run(browser, pool, sig, name, query) {
  const inputs = Array.from({ length: REPS }, (_, i) => JSON.stringify(
    { n: N, size: SIZE, stream_n: STREAM_N, stream_size: STREAM_SIZE, rep: i + 1 })).join('\n') + '\n';
  lib.run('wpool', ['submit', name, '--pool', pool.ws, '--kernel', kernel, '--group', '2',
    '--timeout', '120s', '-q'], inputs);
  const context = await browser.newContext();
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
  const frames0 = await relayFrames(sig);
  try {
    await page.goto(`${pool.http}/?workers=2${query}`);
    if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('page not cross-origin isolated');
    await page.getByRole('button', { name: 'Join' }).click();
    await wait(pool, name);
  } catch (e) {
    throw new Error(`${name}: ${e.message}; page log: ${logs.join(' | ')}; pool log: ${pool.log().slice(-2000)}`);
  }
  const results = lib.lines(lib.run('wpool', ['results', name, '--pool', pool.ws]));
  const bad = results.filter((r) => r.error || !r.output || !r.output[0]);
  if (bad.length || results.length !== REPS)
    throw new Error(`${name}: ${JSON.stringify(bad.length ? bad : results)}; page log: ${logs.join(' | ')}`);
  const outs = results.map((r) => r.output[0]);
  const channels = await page.evaluate(() => (self.wkitChannels ? wkitChannels.stats : null));
  await context.close();
  return {
    case: name,
    rtt_ms: Math.min(...outs.map((o) => o.rtt_ms)),
    stream_mb_s: Math.max(...outs.map((o) => o.stream_mb_s)),
    runs: outs,
    relay_frames: (await relayFrames(sig)) - frames0,
    channels,
  };
}

// The floor: what a DataChannel itself moves in this browser, between two
// RTCPeerConnections of one page (no wkit, no Web Workers, no signalling
// server), STREAM_N x STREAM_SIZE bytes in 64 KiB messages (wkit's chunk)
// with the page's flow control (bufferedAmount under 8 MiB).
async function rawDataChannel(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('about:blank');
  const mbs = await page.evaluate(async ({ total, chunk }) => {
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const dc = a.createDataChannel('floor');
    const opened = new Promise((resolve) => { b.ondatachannel = (e) => resolve(e.channel); });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    const rx = await opened;
    rx.binaryType = 'arraybuffer';
    await new Promise((resolve) => (dc.readyState === 'open' ? resolve() : (dc.onopen = resolve)));
    let received = 0, sent = 0;
    const done = new Promise((resolve) => {
      rx.onmessage = (e) => { received += e.data.byteLength; if (received >= total) resolve(); };
    });
    const buf = new Uint8Array(chunk);
    const t0 = performance.now();
    dc.bufferedAmountLowThreshold = 4 << 20;
    const pump = () => {
      while (sent < total && dc.bufferedAmount < (8 << 20)) { dc.send(buf); sent += chunk; }
    };
    dc.onbufferedamountlow = pump;
    pump();
    await done;
    const ms = performance.now() - t0;
    a.close();
    b.close();
    return total / ms / 1000;
  }, { total: STREAM_N * STREAM_SIZE, chunk: 65536 });
  await context.close();
  return mbs;
}

async function main() {
  const dir = lib.tmpdir();
  const sig = await lib.startWsig();
  const pool = await lib.startPool(dir, ['--sig', sig.url]);
  const browser = await lib.launch();
  try {
    for (const [name, query] of [['datachannel', ''], ['relay', '&datachannel=fail']]) {
      const r = await run(browser, pool, sig, name, query);
      console.log(JSON.stringify(r));
    }
    let best = 0;
    for (let i = 0; i < REPS; ++i) best = Math.max(best, await rawDataChannel(browser));
    console.log(JSON.stringify({ case: 'raw', stream_mb_s: best }));
  } finally {
    await browser.close();
    lib.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error('bench/coupled_browser: error: ' + e.message); process.exit(1); });
