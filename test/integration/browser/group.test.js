// Coupled tasks with browser members: a real wsig, a real wpool serve --sig,
// the volunteer page in headless Chromium with 2 Web Workers (one slot each)
// and one native wrun -j 2. A K=4 ring campaign needs all 4 slots for every
// group run, so each run has two browser members and two native ones, the
// browser pair over a WebRTC DataChannel and the rest through wsig's relay;
// it completes with outputs equal, task by task, to the filter-mode run
// `wrun -k ring.so --group 4 -j 4`. Then a campaign where some runs fail (a
// browser member traps, or a native one crashes and the browser members are
// aborted): those tasks fail naming the rank, the others complete on the
// same Web Workers.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFile } = require('node:child_process');
const lib = require('./lib');

// `wpool wait` without blocking node: Playwright must keep reading the
// browser's events meanwhile, or the browser stalls behind them.
function wait(pool, name) {
  return new Promise((resolve, reject) => {
    execFile(path.join(lib.BIN, 'wpool'), ['wait', name, '--pool', pool.ws, '--timeout', '90s'],
      { timeout: 100000 }, (e, stdout, stderr) => (e ? reject(new Error(stderr || e.message)) : resolve()));
  });
}

test('a K=4 ring campaign over two browser members and two native ones', async () => {
  const dir = lib.tmpdir();
  const sig = await lib.startWsig();
  const pool = await lib.startPool(dir, ['--sig', sig.url]);
  // 8 tasks of 5 rounds each; the x make every message different.
  const datasets = Array.from({ length: 8 }, (_, i) => JSON.stringify({ x: 7 + i, rounds: 5 }))
    .join('\n') + '\n';
  lib.run('wpool', ['submit', 'ring', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'ring.so'), '--group', '4', '--timeout', '60s'], datasets);
  lib.run('wpool', ['pause', 'ring', '--pool', pool.ws]);

  const browser = await lib.launch();
  const nativeLog = path.join(dir, 'native.log');
  try {
    // What the Web Workers print (wrun.wasm's warnings) goes to the page's log.
    const { page, logs } = await lib.newPage(browser, { workerLogs: true });
    await page.goto(`${pool.http}/?workers=2`);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true,
      'the volunteer page is not cross-origin isolated (COOP/COEP)');
    await page.getByRole('button', { name: 'Join' }).click();
    const native = spawn(path.join(lib.BIN, 'wrun'),
      [pool.ws, '--name', 'native', '--cache', path.join(dir, 'cache'), '-j', '2'],
      { stdio: ['ignore', 'ignore', fs.openSync(nativeLog, 'w')] });
    let failures = '';
    const why = () => '; page log: ' + logs.join(' | ') + '; native log: ' +
      fs.readFileSync(nativeLog, 'utf8') + '; failures: ' + failures + '; pool log: ' +
      pool.log().slice(-3000);
    try {
      await lib.until('2 browser workers and a native one', async () => {
        const platforms = (await lib.status(pool)).workers.map((w) => w.platform);
        return platforms.filter((p) => p === 'wasm32').length === 2 &&
          platforms.includes('linux-x86_64');
      }, 20000);
      lib.run('wpool', ['resume', 'ring', '--pool', pool.ws]);
      await wait(pool, 'ring');
    } catch (e) {
      failures = await (await fetch(pool.http + '/api/failures')).text();
      failures += ' slots: ' + JSON.stringify(await page.evaluate(() => wkit.slots));
      throw new Error(e.message + why());
    } finally {
      native.kill('SIGKILL');
    }

    const results = lib.lines(lib.run('wpool', ['results', 'ring', '--pool', pool.ws]));
    assert.equal(results.length, 8);
    assert.deepEqual(results.filter((r) => r.error), [], why());
    // The same datasets in filter mode, all 4 members on one wrun.
    const want = lib.lines(lib.run('wrun', ['-k', path.join(lib.KERNELS, 'ring.so'),
      '--group', '4', '-j', '4'], datasets));
    const bySeq = (rs) => new Map(rs.map((r) => [r.seq, JSON.stringify(r.output)]));
    assert.deepEqual(bySeq(results), bySeq(want));
    assert.deepEqual(want[0].output[0], [7030, 7031, 7032, 7033, 7034]);

    // Both Web Workers ran members, and their messages went through the relay.
    const slots = await page.evaluate(() => wkit.slots);
    assert.equal(slots.length, 2);
    assert.ok(slots.every((s) => s.done > 0 && s.failed === 0),
      'a Web Worker ran no member: ' + JSON.stringify(slots) + why());
    const metrics = await (await fetch(sig.http + '/metrics')).text();
    const frames = Number((/^wsig_relay_frames_total (\d+)/m.exec(metrics) || [0, 0])[1]);
    assert.ok(frames > 0, 'nothing went through wsig\'s relay: ' + metrics);
    // The two browser members of each run talked over a DataChannel
    // (browser_datachannel tests it alone), the others through the relay.
    const channels = await page.evaluate(() => wkitChannels.stats);
    assert.ok(channels.opened >= 2 * 8 && channels.failed === 0 && channels.sent > 0,
      'DataChannels: ' + JSON.stringify(channels) + why());

    // A second campaign on the same page: in each of 4 tasks one rank
    // aborts (a browser member traps, or a native one crashes and the pool
    // aborts the browser members); those fail once and for all, naming the
    // rank, and the good tasks around them still complete.
    const mixed = [0, 1, 2, 3].map((r) => [{ x: 50 + r, rounds: 2 }, { x: 60 + r, abort_rank: r }])
      .flat().map((o) => JSON.stringify(o)).join('\n') + '\n';
    lib.run('wpool', ['submit', 'mixed', '--pool', pool.ws, '--kernel',
      path.join(lib.KERNELS, 'ring.so'), '--group', '4', '--timeout', '60s',
      '--max-attempts', '1'], mixed);
    const native2 = spawn(path.join(lib.BIN, 'wrun'),
      [pool.ws, '--name', 'native2', '--cache', path.join(dir, 'cache'), '-j', '2'],
      { stdio: ['ignore', 'ignore', fs.openSync(nativeLog, 'a')] });
    try {
      await wait(pool, 'mixed');
    } catch (e) {
      failures = await fetch(pool.http + '/api/failures').then((r) => r.text(), (x) => String(x));
      if (!/failed/.test(e.message)) throw new Error(e.message + why());
    } finally {
      native2.kill('SIGKILL');
    }
    const got = lib.lines(lib.run('wpool', ['results', 'mixed', '--pool', pool.ws]));
    const good = got.filter((r) => !r.error);
    let filtered;  // wrun exits 1 for the failed tasks
    try {
      filtered = lib.run('wrun', ['-k', path.join(lib.KERNELS, 'ring.so'), '--group', '4', '-j', '4',
        '--keep-going'], mixed);
    } catch (e) {
      filtered = e.stdout;
    }
    assert.deepEqual(bySeq(good), bySeq(lib.lines(filtered).filter((r) => !r.error)),
      JSON.stringify(got.map((r) => [r.seq, r.error])) + why());
    assert.equal(good.length, 4, why());
    const bad = got.filter((r) => r.error);
    assert.equal(bad.length, 4, JSON.stringify(got));
    for (const r of bad) assert.match(r.error, /rank \d/, JSON.stringify(r));
    const after = await page.evaluate(() => wkit.slots);
    assert.ok(after.some((s) => s.failed > 0), 'no browser member failed: ' + JSON.stringify(after));
  } finally {
    await browser.close();
    lib.stopAll();
  }
});
