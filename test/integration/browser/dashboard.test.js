// The dashboard worth watching, in headless Chromium against a real wpool
// (--history-interval 1s, so 30 s of history is 30 samples): opened after
// two campaigns have run for 30 s it draws that history at once (the pool's
// /api/history, not what arrived since the page opened), with clock times
// on the time axis; each worker's CPU load and memory appear (a native
// wrun's from its heartbeats, a browser's memory); at 375 px wide nothing
// is wider than the screen. The volunteer page tells a refused volunteer
// what to do in its words (no --cap or W_CAP), takes ?cap=, and neither
// page asks for anything the pool does not have (the favicon). Screenshots
// go to build/screenshots/.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib');

const SHOTS = path.join(lib.BUILD, 'screenshots');
const RUN_S = 30;

// Every response of `page` with an HTTP error (a missing favicon was one).
function failedRequests(page) {
  const failed = [];
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
  page.on('requestfailed', (r) => failed.push(`failed ${r.url()}`));
  return failed;
}

// Nothing wider than the viewport: the page does not scroll sideways.
async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 1)
      .map((e) => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right));
    return { width, scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 5) };
  });
}

test('the dashboard shows the last half minute, worker load, and fits a phone', async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const dir = lib.tmpdir();
  const pool = await lib.startPool(dir, ['--history-interval', '1s']);
  // Two campaigns: 10 ms tasks for the native worker (longer than the
  // test waits), divisible ranges the browser runs too.
  lib.run('wpool', ['submit', 'busy', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'busy10ms.so')], Array.from({ length: 6000 }, (_, i) => `{"x":${i}}`).join('\n'));
  lib.run('wpool', ['submit', 'divisible', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'divisible.so'), '--static', '{"divisor":7}'],
  lib.run('wgen', ['range', '0', '4e7', '--step', '1e4']));
  lib.startNativeWorker(pool, dir, 'native');

  const browser = await lib.launch();
  try {
    // A volunteer at a quarter of one core, for the screenshot and the
    // browser's row on the dashboard.
    const { page: volunteer, logs } = await lib.newPage(browser);
    const volunteerFailed = failedRequests(volunteer);
    await volunteer.setViewportSize({ width: 900, height: 760 });
    await volunteer.goto(`${pool.http}/?workers=1&throttle=25&autojoin=1`);
    await lib.until('the browser worker connected', async () =>
      (await lib.status(pool)).workers.some((w) => w.platform === 'wasm32'), 20000)
      .catch((e) => { throw new Error(e.message + '; page log: ' + logs.join(' | ')); });

    await new Promise((r) => setTimeout(r, RUN_S * 1000));
    const running = await lib.status(pool);
    assert.ok(running.campaigns.some((c) => c.state === 'running'), 'every campaign finished early');

    // Opened now, the dashboard draws the 30 s it did not see.
    const { page: dash, logs: dashLogs } = await lib.newPage(browser);
    const dashFailed = failedRequests(dash);
    await dash.setViewportSize({ width: 1100, height: 900 });
    await dash.goto(`${pool.http}/dashboard.html`);
    const history = await lib.until('the history drawn', () => dash.evaluate(() =>
      window.wkitDashboard.history && document.querySelector('#chart-rate path.series') &&
      window.wkitDashboard.history), 10000);
    const span = history.samples.at(-1).t - history.samples[0].t;
    assert.ok(span >= RUN_S - 3, `the history spans ${span} s`);
    assert.ok(history.samples.length >= RUN_S - 3, `${history.samples.length} samples`);
    const chart = await dash.evaluate(() => {
      const svg = document.getElementById('chart-rate');
      const longest = Math.max(...[...svg.querySelectorAll('path.series')]
        .map((p) => p.getAttribute('d').split('L').length));
      const labels = [...svg.querySelectorAll('text')].map((t) => t.textContent);
      const legend = document.getElementById('legend-rate').textContent;
      return { longest, labels, legend, span: document.getElementById('history-span').textContent };
    });
    assert.ok(chart.longest >= RUN_S - 3, `the longest line has ${chart.longest} points`);
    const clock = chart.labels.filter((l) => /^\d\d:\d\d(:\d\d)?$/.test(l));
    assert.ok(clock.length >= 2, 'no clock times on the time axis: ' + chart.labels.join(' '));
    assert.ok(chart.labels.includes('tasks/s'), 'no unit on the value axis: ' + chart.labels.join(' '));
    assert.match(chart.legend, /busy/);
    assert.match(chart.span, /a sample every 1 s/);

    // Each worker's load and memory: the native one both, the browser memory.
    await lib.until('load and memory of both workers', () => dash.evaluate(() =>
      [...document.querySelectorAll('#workers tr')].filter((tr) =>
        /MiB|GiB/.test(tr.lastElementChild.textContent)).length === 2), 10000);
    const rows = await dash.evaluate(() => [...document.querySelectorAll('#workers tr')].map((tr) =>
      [...tr.children].map((td) => td.textContent)));
    const native = rows.find((r) => r[1] === 'linux-x86_64');
    const web = rows.find((r) => r[1] === 'wasm32');
    assert.match(native[7], /^\s*\d+%$/, 'native load: ' + native);
    assert.match(native[8], /MiB|GiB/);
    assert.match(web[8], /MiB|GiB/);
    // The ETA of a running campaign.
    const etas = await dash.evaluate(() => [...document.querySelectorAll('#campaigns tr')]
      .map((tr) => tr.lastElementChild.textContent));
    assert.ok(etas.some((e) => /\d+ (s|min|h)/.test(e)), 'no ETA: ' + etas);
    await dash.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });

    // A phone: 375 px wide, nothing sideways.
    await dash.setViewportSize({ width: 375, height: 800 });
    await new Promise((r) => setTimeout(r, 1200));  // a redraw at this width
    const o = await overflow(dash);
    assert.ok(o.scroll <= o.width && o.wide.length === 0, 'overflows at 375 px: ' + JSON.stringify(o));
    await dash.screenshot({ path: path.join(SHOTS, 'dashboard-phone.png'), fullPage: true });
    assert.deepEqual(dashFailed, []);
    assert.deepEqual(dashLogs.filter((l) => /error|failed/i.test(l)), []);

    await volunteer.screenshot({ path: path.join(SHOTS, 'volunteer.png'), fullPage: true });
    await volunteer.setViewportSize({ width: 375, height: 800 });
    await new Promise((r) => setTimeout(r, 300));
    const v = await overflow(volunteer);
    assert.ok(v.scroll <= v.width && v.wide.length === 0, 'volunteer page overflows: ' + JSON.stringify(v));
    assert.deepEqual(volunteerFailed, []);
    console.log('screenshots: ' + SHOTS);
  } finally {
    await browser.close();
    lib.stopAll();
  }
});

test('a refused volunteer is told what to do in its words', async () => {
  const dir = lib.tmpdir();
  const secret = path.join(dir, 'pool.secret');
  const pool = await lib.startPool(dir, ['--secret', secret]);
  const browser = await lib.launch();
  try {
    const notice = async (query) => {
      const { page } = await lib.newPage(browser);
      await page.goto(`${pool.http}/?workers=1&autojoin=1${query}`);
      await lib.until('the notice', () => page.evaluate(() => !document.getElementById('notice').hidden), 15000);
      const text = await page.evaluate(() => document.getElementById('notice').textContent +
        ' ' + document.getElementById('slots').textContent);
      return { page, text };
    };
    const uninvited = await notice('');
    assert.match(uninvited.text, /only invited browsers.*\?cap=/);
    assert.doesNotMatch(uninvited.text, /--cap|W_CAP/);
    await uninvited.page.screenshot({ path: path.join(SHOTS, 'volunteer-refused.png') });
    const stale = await notice('&cap=not-a-capability');
    assert.match(stale.text, /did not accept the invitation/);
    // A real invitation (?cap= with the work right) is let in.
    const cap = lib.run('wpool', ['cap', '--secret', secret, '--rights', 'work']).trim();
    const { page } = await lib.newPage(browser);
    await page.goto(`${pool.http}/?workers=1&autojoin=1&cap=${encodeURIComponent(cap)}`);
    const admin = lib.run('wpool', ['cap', '--secret', secret, '--rights', 'all']).trim();
    await lib.until('the invited browser connected', async () => {
      const r = await fetch(`${pool.http}/api/status?cap=${encodeURIComponent(admin)}`);
      return (await r.json()).workers.some((w) => w.platform === 'wasm32');
    }, 15000);
  } finally {
    await browser.close();
    lib.stopAll();
  }
});
