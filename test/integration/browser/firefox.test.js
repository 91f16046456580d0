// The volunteer page in headless Firefox (Debian's ESR, over WebDriver
// BiDi). First, 8 Web Workers join on each of 4 loads of the page: Firefox
// can block a Web Worker for good in `new Worker()` when sibling workers
// construct nested workers at the same moment (1 page in 10 with 2 workers,
// 4 in 10 with 8), so the page, not worker.js, starts the kernels' Web
// Workers. Then, on one page with 2 Web Workers: a loop.wasm campaign whose
// looping task fails with "timeout" (the watchdog replaces the kernel's Web
// Worker, in Firefox too), and a divisible campaign whose results equal,
// dataset by dataset, the filter-mode run of the .so; the dashboard reaches
// 100% in Firefox too.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const lib = require('./lib');
const { launchFirefox } = require('./firefox');

const STATIC = '{"divisor":123}';

let dir, pool, firefox;

test.before(async () => {
  dir = lib.tmpdir();
  pool = await lib.startPool(dir);
  firefox = await launchFirefox();
});

test.after(async () => {
  if (firefox) await firefox.close();
  lib.stopAll();
});

async function browserWorkers() {
  return (await lib.status(pool)).workers.filter((w) => w.platform === 'wasm32').length;
}

// On timeout, what the page and the pool say.
function explain(what) {
  return async (e) => {
    const page = await firefox.evaluate("({slots: wkit.slots, score: wkit.score, " +
      "state: document.getElementById('state').textContent})").catch((x) => x.message);
    throw new Error(`${e.message} (${what}); page: ${JSON.stringify(page)}; pool log: ${pool.log()}`);
  };
}

test('8 Web Workers join, on each of 4 loads of the page', async () => {
  for (let load = 1; load <= 4; load++) {
    await firefox.goto(`${pool.http}/?workers=8&autojoin=1`);
    await lib.until('8 Firefox workers', async () => (await browserWorkers()) === 8, 15000)
      .catch(explain(`load ${load}`));
    await firefox.goto('about:blank');  // its workers leave
    await lib.until('no Firefox worker', async () => (await browserWorkers()) === 0, 10000);
  }
});

test('a looping kernel, then a divisible campaign, on the volunteer page in Firefox', async () => {
  const datasets = lib.run('wgen', ['range', '0', '50000', '--step', '250']);  // 200 ranges
  lib.run('wpool', ['submit', 'div', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'divisible.so'), '--static', STATIC], datasets);
  // Held paused until both Web Workers are connected, so both take part.
  lib.run('wpool', ['pause', 'div', '--pool', pool.ws]);
  await firefox.goto(`${pool.http}/?workers=2&autojoin=1`);
  await lib.until('2 Firefox workers', async () => (await browserWorkers()) === 2, 20000)
    .catch(explain('the campaign page'));

  // One task loops: each attempt ends by the timeout, the others are done.
  const inputs = ['{"x":1}', '{"loop":1}', '{"x":2}', '{"x":3}'];
  lib.run('wpool', ['submit', 'loop', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'loop.so'), '--timeout', '1s', '--max-attempts', '2'],
  inputs.join('\n') + '\n');
  await lib.until('the loop campaign complete', async () =>
    (await lib.status(pool)).campaigns.find((c) => c.name === 'loop').complete, 20000)
    .catch(explain('the loop campaign'));
  const looped = lib.lines(lib.run('wpool', ['results', 'loop', '--pool', pool.ws]))
    .sort((a, b) => a.seq - b.seq);
  // Each attempt's error is "<worker>: <why>", joined by "; ".
  const why = (r) => r.error.split('; ').map((e) => e.replace(/^[^:]+: /, '')).join('; ');
  assert.deepEqual(looped.map((r) => (r.error ? why(r) : r.output)),
    [{ x: 1 }, 'timeout: still running after 1 s; timeout: still running after 1 s', { x: 2 },
      { x: 3 }]);

  lib.run('wpool', ['resume', 'div', '--pool', pool.ws]);
  lib.run('wpool', ['wait', 'div', '--pool', pool.ws, '--timeout', '60s']);
  const results = lib.lines(lib.run('wpool', ['results', 'div', '--pool', pool.ws]));
  assert.equal(results.length, 200);
  assert.deepEqual(results.filter((r) => r.error), []);
  assert.ok(results.every((r) => r.platform === 'wasm32'), 'a result did not come from Firefox');
  const want = lib.lines(lib.run('wrun', ['-k', path.join(lib.KERNELS, 'divisible.so'),
    '--static', STATIC, '-j', '2'], datasets));
  const bySeq = (rs) => new Map(rs.map((r) => [r.seq, JSON.stringify(r.output)]));
  assert.deepEqual(bySeq(results), bySeq(want));

  const slots = await firefox.evaluate('wkit.slots');
  assert.equal(slots.length, 2);
  assert.ok(slots.every((s) => s.done > 0), 'a Web Worker ran nothing: ' + JSON.stringify(slots));
  const score = await firefox.evaluate('wkit.score');
  assert.ok(score.dhrystones_per_second > 0, 'no Dhrystone score: ' + JSON.stringify(score));
  const workers = (await lib.status(pool)).workers;  // the connected ones
  assert.equal(workers.filter((w) => w.platform === 'wasm32' && w.score > 0).length, 2);

  // (Leaving the volunteer page disconnects its workers: the dashboard
  // is checked for the campaign only.)
  await firefox.goto(`${pool.http}/dashboard.html`);
  await lib.until('the dashboard at 100%', () =>
    firefox.evaluate("document.getElementById('campaigns').textContent.includes('100%')"), 10000);
  console.log(`Firefox ${firefox.version() || ''}: ${results.length} results, ` +
    `${Math.round(score.dhrystones_per_second)} Dhrystones/s`);
});
