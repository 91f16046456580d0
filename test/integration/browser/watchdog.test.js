// The browser watchdog, in headless Chromium against a real wpool (with a
// real wsig for coupled tasks): one volunteer page (2 Web Workers,
// ?memory=64) takes a loop.wasm campaign with a 1 s timeout, then a
// membomb.wasm campaign, then a coupled campaign whose 2 members spin, then
// a campaign with a 20 MB result, then a divisible one. The looping task
// fails with "timeout" once per attempt until --max-attempts, the other
// tasks of the campaign are done without a failed attempt (the ones
// prefetched behind the loop are not failed with it); the memory bomb
// fails with "out of memory" at the page's cap; the spinning members fail
// with "timeout" from the page's watchdog, before the pool's deadline for
// the run; the 20 MB result fails with "result larger than" once per
// attempt; and the same page, still connected through it all, completes
// the divisible campaign with results equal to the filter-mode run.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const lib = require('./lib');

const STATIC = '{"divisor":123}';

let dir, pool, browser;

test.before(async () => {
  dir = lib.tmpdir();
  const sig = await lib.startWsig();
  pool = await lib.startPool(dir, ['--sig', sig.url]);
  browser = await lib.launch();
});

test.after(async () => {
  if (browser) await browser.close();
  lib.stopAll();
});

// Waits (bounded) until campaign `name` has no task left; returns its results.
async function finished(name, ms) {
  const t0 = Date.now();
  await lib.until(`campaign '${name}' complete`, async () => {
    const c = (await lib.status(pool)).campaigns.find((x) => x.name === name);
    return c && c.complete;
  }, ms);
  return { results: lib.lines(lib.run('wpool', ['results', name, '--pool', pool.ws])),
    seconds: (Date.now() - t0) / 1000 };
}

async function browserWorkers() {
  return (await lib.status(pool)).workers.filter((w) => w.platform === 'wasm32');
}

test('loop.wasm, membomb.wasm, spinning members, a 20 MB result, then a normal campaign on the same page', async () => {
  const { page, logs } = await lib.newPage(browser, { workerLogs: true });
  const why = async (e) => {
    const slots = await page.evaluate(() => wkit.slots).catch((x) => x.message);
    throw new Error(`${e.message}; slots: ${JSON.stringify(slots)}; page log: ` +
      logs.slice(-30).join(' | ') + '; pool log: ' + pool.log().slice(-3000));
  };
  await page.goto(`${pool.http}/?workers=2&memory=64&autojoin=1`);
  await lib.until('2 browser workers', async () => (await browserWorkers()).length === 2, 20000)
    .catch(why);
  const ids = (await browserWorkers()).map((w) => w.id).sort();

  // 1. One looping task among 11 that echo their input.
  const inputs = [...Array.from({ length: 5 }, (_, i) => `{"x":${i}}`), '{"loop":1}',
    ...Array.from({ length: 5 }, (_, i) => `{"x":${i + 5}}`)];
  lib.run('wpool', ['submit', 'loop', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'loop.so'), '--timeout', '1s', '--max-attempts', '2'],
  inputs.join('\n') + '\n');
  const loop = await finished('loop', 25000).catch(why);
  assert.equal(loop.results.length, 11);
  const bySeq = new Map(loop.results.map((r) => [r.seq, r]));
  const looped = bySeq.get(5);
  assert.ok(looped.error, 'the looping task did not fail: ' + JSON.stringify(looped));
  // Both attempts failed by the watchdog, none by the pool's lease deadline.
  const attempts = looped.error.split('; ');
  assert.equal(attempts.length, 2, looped.error);
  for (const a of attempts) assert.match(a, /^[^:]+: timeout: still running after 1 s/);
  for (const [seq, r] of bySeq) {
    if (seq === 5) continue;
    assert.equal(r.error, undefined, `task ${seq} failed: ${r.error}`);
    assert.deepEqual(r.output, JSON.parse(inputs[seq]));
  }
  // No other task lost an attempt: the only failed attempts are the loop's two.
  let workers = await browserWorkers();
  assert.equal(workers.reduce((n, w) => n + w.tasks_failed, 0), 2, JSON.stringify(workers));
  console.log(loop.results.map((r) => r.seq + ':' + r.worker).join(' '));
  console.log(`loop campaign complete in ${loop.seconds.toFixed(1)} s: ${looped.error}`);

  // 2. A kernel that allocates without bound, on both Web Workers at once.
  lib.run('wpool', ['submit', 'bomb', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'membomb.so'), '--timeout', '30s', '--max-attempts', '1'],
  '{"x":1}\n{"x":2}\n');
  const bomb = await finished('bomb', 25000).catch(why);
  assert.equal(bomb.results.length, 2);
  for (const r of bomb.results)
    assert.match(r.error || '', /out of memory: .*64 MB/, JSON.stringify(r));
  console.log(`membomb campaign complete in ${bomb.seconds.toFixed(1)} s: ${bomb.results[0].error}`);

  // 3. A coupled task whose members (one per Web Worker) spin: the pool
  // would fail the run at its deadline (timeout + 5 s), the page fails it
  // first.
  lib.run('wpool', ['submit', 'spin', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'spin.so'), '--group', '2', '--timeout', '1s', '--max-attempts', '1'],
  '{"x":1}\n');
  const spin = await finished('spin', 20000).catch(why);
  assert.equal(spin.results.length, 1);
  assert.match(spin.results[0].error || '', /rank \d of g\w+: timeout: still running after 1 s/,
    JSON.stringify(spin.results[0]));
  console.log(`spin campaign complete in ${spin.seconds.toFixed(1)} s: ${spin.results[0].error}`);

  // 4. A result over the pool's --max-frame (16 MiB): the page fails that
  // task with the reason (an attempt), instead of sending it and having its
  // connection closed, the task back in the queue without an attempt.
  const poison = ['{"x":1}', '{"big":20}', '{"x":2}', '{"x":3}'];
  lib.run('wpool', ['submit', 'poison', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'poison.so'), '--max-attempts', '2'], poison.join('\n') + '\n');
  const big = await finished('poison', 20000).catch(why);
  const bigBySeq = new Map(big.results.map((r) => [r.seq, r]));
  assert.equal(big.results.length, 4);
  const tooBig = (bigBySeq.get(1).error || '').split('; ');
  assert.equal(tooBig.length, 2, JSON.stringify(bigBySeq.get(1)));
  for (const a of tooBig)
    assert.match(a, /^[^:]+: result larger than \d+ bytes \(the kernel returned 20971525 bytes\)$/);
  for (const seq of [0, 2, 3]) assert.deepEqual(bigBySeq.get(seq).output, JSON.parse(poison[seq]));
  console.log(`poison campaign complete in ${big.seconds.toFixed(1)} s: ${bigBySeq.get(1).error}`);

  // 5. A normal campaign on the same page, through the same connections.
  const datasets = lib.run('wgen', ['range', '0', '50000', '--step', '250']);  // 200 ranges
  lib.run('wpool', ['submit', 'div', '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'divisible.so'), '--static', STATIC], datasets);
  const div = await finished('div', 60000).catch(why);
  assert.equal(div.results.length, 200);
  assert.deepEqual(div.results.filter((r) => r.error), []);
  assert.ok(div.results.every((r) => r.platform === 'wasm32'), 'a result did not come from the page');
  const want = lib.lines(lib.run('wrun', ['-k', path.join(lib.KERNELS, 'divisible.so'),
    '--static', STATIC, '-j', '2'], datasets));
  const outputs = (rs) => new Map(rs.map((r) => [r.seq, JSON.stringify(r.output)]));
  assert.deepEqual(outputs(div.results), outputs(want));

  workers = await browserWorkers();
  assert.deepEqual(workers.map((w) => w.id).sort(), ids, 'the page\'s workers reconnected');
  const slots = await page.evaluate(() => wkit.slots);
  assert.equal(slots.length, 2);
  assert.ok(slots.every((s) => s.state !== 'crashed'), JSON.stringify(slots));
  await page.close();
});
