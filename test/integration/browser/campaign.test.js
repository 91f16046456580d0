// The volunteer page in headless Chromium joins a real wpool with 2 Web
// Workers beside one native wrun; a divisible campaign completes with
// results from both platforms equal, dataset by dataset, to the filter-mode
// run of the .so; the dashboard reaches 100% and lists both platforms (a
// screenshot is saved in the build directory).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const lib = require('./lib');

const STATIC = '{"divisor":123}';

test('a divisible campaign over a browser and a native worker', async () => {
  const dir = lib.tmpdir();
  const pool = await lib.startPool(dir);
  // 400 ranges of 250 numbers.
  const datasets = lib.run('wgen', ['range', '0', '100000', '--step', '250']);
  // --no-speculate: at the end of the campaign, idle Web Workers would get
  // copies of the tasks the native worker still holds (in an ASan build it
  // can still be fetching the kernel) and win them all; this test is about
  // both platforms' results, speculation has its own (pool_speculate).
  lib.run('wpool', ['submit', 'div', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'divisible.so'), '--static', STATIC, '--no-speculate'], datasets);

  const browser = await lib.launch();
  try {
    const { page, logs } = await lib.newPage(browser);
    await page.goto(`${pool.http}/?workers=2`);
    // Held paused until both platforms are connected, so both take part.
    lib.run('wpool', ['pause', 'div', '--pool', pool.ws]);
    await page.getByRole('button', { name: 'Join' }).click();
    lib.startNativeWorker(pool, dir, 'native');
    await lib.until('2 browser workers and a native one', async () => {
      const platforms = (await lib.status(pool)).workers.map((w) => w.platform);
      return platforms.filter((p) => p === 'wasm32').length === 2 &&
        platforms.includes('linux-x86_64');
    }, 20000).catch((e) => { throw new Error(e.message + '; page log: ' + logs.join(' | ')); });
    lib.run('wpool', ['resume', 'div', '--pool', pool.ws]);
    lib.run('wpool', ['wait', 'div', '--pool', pool.ws, '--timeout', '90s']);

    const results = lib.lines(lib.run('wpool', ['results', 'div', '--pool', pool.ws]));
    assert.equal(results.length, 400);
    assert.deepEqual(results.filter((r) => r.error), []);
    const platforms = new Set(results.map((r) => r.platform));
    assert.ok(platforms.has('wasm32'), 'no result came from the browser');
    assert.ok(platforms.has('linux-x86_64'), 'no result came from the native worker');

    // The same datasets through `wrun -k divisible.so` (filter mode).
    const want = lib.lines(lib.run('wrun', ['-k', path.join(lib.KERNELS, 'divisible.so'),
      '--static', STATIC, '-j', '2'], datasets));
    const bySeq = (rs) => new Map(rs.map((r) => [r.seq, JSON.stringify(r.output)]));
    assert.deepEqual(bySeq(results), bySeq(want));
    const slots = await page.evaluate(() => wkit.slots);
    assert.equal(slots.length, 2);
    assert.ok(slots.every((s) => s.done > 0), 'a Web Worker ran nothing: ' + JSON.stringify(slots));

    const dash = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    await dash.goto(`${pool.http}/dashboard.html`);
    await lib.until('the dashboard at 100%', () => dash.evaluate(() =>
      document.getElementById('campaigns').textContent.includes('100%')), 10000);
    const workersText = await dash.evaluate(() => document.getElementById('workers').textContent);
    assert.match(workersText, /wasm32/);
    assert.match(workersText, /linux-x86_64/);
    await new Promise((r) => setTimeout(r, 2500));  // a few chart samples
    const shot = path.join(lib.BUILD, 'browser-dashboard.png');
    await dash.screenshot({ path: shot, fullPage: true });
    console.log('dashboard screenshot: ' + shot);
  } finally {
    await browser.close();
    lib.stopAll();
  }
});
