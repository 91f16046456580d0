// Faults and controls of the browser worker, in headless Chromium against a
// real wpool: traps fail only their task and the Web Worker goes on; pause
// stops new tasks and resume continues; closing the page hands its tasks
// back and a native worker finishes the campaign.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const lib = require('./lib');

let dir, pool, browser;

test.before(async () => {
  dir = lib.tmpdir();
  pool = await lib.startPool(dir);
  browser = await lib.launch();
});

test.after(async () => {
  if (browser) await browser.close();
  lib.stopAll();
});

async function joinedPage(workers) {
  const page = await browser.newPage();
  await page.goto(`${pool.http}/?workers=${workers}`);
  await page.getByRole('button', { name: 'Join' }).click();
  return page;
}

function doneCount(name) {
  return lib.status(pool).then((s) => {
    const c = s.campaigns.find((x) => x.name === name);
    return c ? c.done + c.failed : 0;
  });
}

test('a kernel that traps fails its task with the trap message; the Web Worker goes on', async () => {
  const inputs = ['{"x":1}', '{"op":"unreachable"}', '{"x":2}', '{"op":"oob"}', '{"x":3}',
    '{"x":4}'].join('\n') + '\n';
  lib.run('wpool', ['submit', 'trap', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'trap.so'), '--max-attempts', '1'], inputs);
  const page = await joinedPage(1);
  // `wpool wait` exits 1 when tasks failed, as two must here.
  await lib.until('the trap campaign complete', async () =>
    (await lib.status(pool)).campaigns.find((c) => c.name === 'trap').complete, 30000);
  const results = lib.lines(lib.run('wpool', ['results', 'trap', '--pool', pool.ws]));
  const bySeq = new Map(results.map((r) => [r.seq, r]));
  assert.equal(results.length, 6);
  assert.match(bySeq.get(1).error, /kernel trapped: unreachable/);
  assert.match(bySeq.get(3).error, /kernel trapped: memory access out of bounds/);
  for (const seq of [0, 2, 4, 5]) {
    assert.equal(bySeq.get(seq).platform, 'wasm32');
    assert.deepEqual(bySeq.get(seq).output, JSON.parse(['{"x":1}', '', '{"x":2}', '', '{"x":3}',
      '{"x":4}'][seq]));
  }
  // One Web Worker ran all six: it survived both traps.
  const [slot] = await page.evaluate(() => wkit.slots);
  assert.equal(slot.done, 4);
  assert.equal(slot.failed, 2);
  assert.notEqual(slot.state, 'crashed');
  await page.close();
  // The dashboard lists both failures with the trap messages.
  const dash = await browser.newPage();
  await dash.goto(`${pool.http}/dashboard.html`);
  const failed = await lib.until('the failed tasks on the dashboard', async () => {
    const text = await dash.evaluate(() => document.getElementById('failures').textContent);
    return text.includes('unreachable') && text.includes('out of bounds') && text;
  }, 10000);
  // The Web Worker that ran them, by the id the pool knows it by.
  const workers = JSON.parse(lib.run('wpool', ['workers', '--json', '--pool', pool.ws]));
  const ran = workers.find((w) => w.name === 'browser-1');
  assert.ok(ran && /^k-[0-9a-f]{16}$/.test(ran.id), JSON.stringify(workers));
  assert.ok(failed.includes(ran.id), failed);
  await dash.close();
});

test('pause stops new tasks, resume continues, closing the page returns its tasks', async () => {
  // 600 tasks of ~10 ms: long enough to pause in the middle.
  const inputs = Array.from({ length: 600 }, (_, i) => `{"x":${i}}`).join('\n') + '\n';
  lib.run('wpool', ['submit', 'busy', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'busy10ms.so')], inputs);
  const page = await joinedPage(2);
  await lib.until('20 results', async () => (await doneCount('busy')) >= 20, 20000);

  await page.getByRole('button', { name: 'Pause' }).click();
  await lib.until('both Web Workers paused', () => page.evaluate(() =>
    wkit.slots.every((s) => s.state === 'paused')), 5000);
  // A paused Web Worker hands back what it had not started and leaves.
  await lib.until('the paused workers gone from the pool', async () =>
    (await lib.status(pool)).workers.every((w) => w.platform !== 'wasm32'), 5000);
  const paused = await doneCount('busy');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await doneCount('busy'), paused, 'results arrived while paused');
  assert.ok(paused < 600, 'the campaign finished before the pause');

  await page.getByRole('button', { name: 'Resume' }).click();
  await lib.until('results after resume', async () => (await doneCount('busy')) > paused + 10, 20000);

  // Close the page mid-campaign: its leased tasks go back to the queue.
  await page.close();
  await lib.until('the browser workers gone', async () =>
    (await lib.status(pool)).workers.every((w) => w.platform !== 'wasm32'), 10000);
  const c = (await lib.status(pool)).campaigns.find((x) => x.name === 'busy');
  assert.ok(c.done < 600, 'the campaign finished before the page closed');
  assert.equal(c.leased, 0, 'tasks are still leased to the closed page');
  lib.startNativeWorker(pool, dir, 'native', 2);
  lib.run('wpool', ['wait', 'busy', '--pool', pool.ws, '--timeout', '60s']);
  const results = lib.lines(lib.run('wpool', ['results', 'busy', '--pool', pool.ws]));
  assert.equal(results.length, 600);
  assert.deepEqual(results.filter((r) => r.error), []);
  assert.equal(new Set(results.map((r) => r.task)).size, 600);
});
