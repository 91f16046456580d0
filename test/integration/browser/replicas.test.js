// Replicas across platforms: mlp (floating point: a browser's results may
// differ from a native worker's in the last bits) with --replicas 3 on one
// browser worker and two native ones. Every task is accepted with the
// natives' value, as in filter mode, and no honest worker is flagged: the
// browser's votes are compared only with other browsers'. (It used to be
// flagged as a cheater, its score quartered.) A reload keeps the browser's
// worker id (its key in local storage, with the Web Worker's name).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib');

test('mlp with replicas on a browser and two native workers', async () => {
  const dir = lib.tmpdir();
  const points = lib.lines(execFileSync('python3',
    [path.join(process.env.W_SRC, 'examples/mlp/spirals.py'), '60'], { encoding: 'utf8' }));
  const pick = (split) => points.filter((p) => p.split === split).map((p) => [p.x, p.y, p.label]);
  const staticFile = path.join(dir, 'static.json');
  fs.writeFileSync(staticFile, JSON.stringify({ train: pick('train'), test: pick('test') }));
  const datasets = lib.run('wgen', ['grid', 'optimizer=sgd,adam', 'hidden=4,8', 'lr=0.3,0.1',
    'epochs=20']);
  const pool = await lib.startPool(dir);
  lib.run('wpool', ['submit', 'mlp', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'mlp.so'), '--static', staticFile, '--replicas', '3'], datasets);

  const browser = await lib.launch();
  try {
    const { page, logs } = await lib.newPage(browser);
    await page.goto(`${pool.http}/?workers=1`);
    lib.run('wpool', ['pause', 'mlp', '--pool', pool.ws]);
    await page.getByRole('button', { name: 'Join' }).click();
    const natives = [lib.startNativeWorker(pool, dir, 'n1'), lib.startNativeWorker(pool, dir, 'n2')];
    await lib.until('a browser worker and two native ones', async () => {
      const platforms = (await lib.status(pool)).workers.map((w) => w.platform);
      return platforms.filter((p) => p === 'wasm32').length === 1 &&
        platforms.filter((p) => p === 'linux-x86_64').length === 2;
    }, 20000).catch((e) => { throw new Error(e.message + '; page log: ' + logs.join(' | ')); });
    lib.run('wpool', ['resume', 'mlp', '--pool', pool.ws]);
    lib.run('wpool', ['wait', 'mlp', '--pool', pool.ws, '--timeout', '120s']);

    const results = lib.lines(lib.run('wpool', ['results', 'mlp', '--pool', pool.ws]));
    assert.equal(results.length, 8);
    assert.deepEqual(results.filter((r) => r.error), []);
    const want = lib.lines(lib.run('wrun', ['-k', path.join(lib.KERNELS, 'mlp.so'),
      '--static', staticFile, '-j', '2'], datasets));
    const bySeq = (rs) => new Map(rs.map((r) => [r.seq, JSON.stringify(r.output)]));
    assert.deepEqual(bySeq(results), bySeq(want));
    const slots = await page.evaluate(() => wkit.slots);
    assert.ok(slots[0].done > 0, 'the browser computed no replica: ' + JSON.stringify(slots));
    // The premise: alone, the browser's results are not the natives' bit for bit.
    // No speculative copies: idle natives would rerun the browser's tasks
    // before the pause and their results, first in, would be the ones kept.
    lib.run('wpool', ['submit', 'mlp-browser', '--pool', pool.ws, '--kernel',
      path.join(lib.KERNELS, 'mlp.so'), '--static', staticFile, '--no-speculate'], datasets);
    lib.run('wpool', ['pause', 'mlp-browser', '--pool', pool.ws]);
    for (const n of natives) n.kill('SIGKILL');
    await lib.until('the native workers gone', async () =>
      (await lib.status(pool)).workers.every((w) => w.platform === 'wasm32'), 20000);
    lib.run('wpool', ['resume', 'mlp-browser', '--pool', pool.ws]);
    lib.run('wpool', ['wait', 'mlp-browser', '--pool', pool.ws, '--timeout', '120s']);
    const alone = lib.lines(lib.run('wpool', ['results', 'mlp-browser', '--pool', pool.ws]));
    const differing = [...bySeq(alone)].filter(([seq, out]) => bySeq(want).get(seq) !== out);
    console.log(`${differing.length} of ${alone.length} browser results differ from native ones`);
    assert.ok(differing.length > 0, 'wasm and native agreed bit for bit: the test shows nothing');
    const workers = JSON.parse(lib.run('wpool', ['workers', '--json', '--pool', pool.ws]));
    assert.deepEqual(workers.filter((w) => w.flagged).map((w) => w.name), [],
      'an honest worker was flagged');

    // The browser is known by the key in its local storage: after a reload
    // its worker comes back under the same id (a flag would follow it).
    const browserIds = (list) => list.filter((w) => w.platform === 'wasm32').map((w) => w.id);
    const before = browserIds(workers);
    assert.equal(before.length, 1);
    assert.match(before[0], /^k-[0-9a-f]{16}$/);
    await page.reload();
    await page.getByRole('button', { name: 'Join' }).click();
    await lib.until('the reloaded page connected', async () =>
      (await lib.status(pool)).workers.some((w) => w.platform === 'wasm32'), 20000);
    const after = JSON.parse(lib.run('wpool', ['workers', '--json', '--pool', pool.ws]));
    assert.deepEqual(browserIds(after), before, 'the reloaded browser is a new worker');
  } finally {
    await browser.close();
    lib.stopAll();
  }
});
