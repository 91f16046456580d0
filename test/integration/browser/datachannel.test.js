// WebRTC DataChannels between browser members of coupled tasks: a real
// wsig, a real wpool serve --sig, the volunteer page in headless Chromium
// with 2 Web Workers (one slot each). A K=2 ring campaign runs both ranks
// on the page; the page opens a DataChannel between them through wsig's
// signalling and their messages go over it: no frame goes through wsig's
// relay, and the outputs equal filter mode's. Then the same on a page with
// ?datachannel=fail (every ICE candidate dropped, so no channel opens): the
// members wait for the channel, give up, and the campaign completes over
// the relay. Then a 96 MiB stream between the two members: the sender is
// held while the page holds 32 MiB of its bytes, so the page never queues
// the whole stream.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const lib = require('./lib');

function wait(pool, name) {
  return new Promise((resolve, reject) => {
    execFile(path.join(lib.BIN, 'wpool'), ['wait', name, '--pool', pool.ws, '--timeout', '90s'],
      { timeout: 100000 }, (e, stdout, stderr) => (e ? reject(new Error(stderr || e.message)) : resolve()));
  });
}

async function relayFrames(sig) {
  const metrics = await (await fetch(sig.http + '/metrics')).text();
  return Number((/^wsig_relay_frames_total (\d+)/m.exec(metrics) || [0, 0])[1]);
}

function datasets(n, x0) {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ x: x0 + i, rounds: 5 })).join('\n') + '\n';
}

// Runs campaign `name` on a fresh page at `query`; returns the page's stats.
async function campaign(browser, pool, name, data, query) {
  lib.run('wpool', ['submit', name, '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'ring.so'), '--group', '2', '--timeout', '60s'], data);
  const { page, logs } = await lib.newPage(browser, { workerLogs: true });
  const why = () => '; page log: ' + logs.join(' | ') + '; pool log: ' + pool.log().slice(-3000);
  try {
    await page.goto(`${pool.http}/?workers=2${query}`);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    await page.getByRole('button', { name: 'Join' }).click();
    await wait(pool, name);
  } catch (e) {
    throw new Error(e.message + why());
  }
  const results = lib.lines(lib.run('wpool', ['results', name, '--pool', pool.ws]));
  assert.deepEqual(results.filter((r) => r.error), [], why());
  const want = lib.lines(lib.run('wrun', ['-k', path.join(lib.KERNELS, 'ring.so'),
    '--group', '2', '-j', '2'], data));
  const bySeq = (rs) => new Map(rs.map((r) => [r.seq, JSON.stringify(r.output)]));
  assert.deepEqual(bySeq(results), bySeq(want), why());
  const slots = await page.evaluate(() => wkit.slots);
  assert.ok(slots.every((s) => s.done > 0 && s.failed === 0), JSON.stringify(slots) + why());
  const stats = await page.evaluate(() => wkitChannels.stats);
  await page.close();
  return { stats, results, why };
}

test('browser members talk over DataChannels, and over the relay when none opens', async () => {
  const dir = lib.tmpdir();
  const sig = await lib.startWsig();
  const pool = await lib.startPool(dir, ['--sig', sig.url]);
  const browser = await lib.launch();
  try {
    const n = 6;
    const dc = await campaign(browser, pool, 'dc', datasets(n, 7), '');
    // Two channels per run (one per member), opened, carrying the traffic.
    assert.equal(dc.stats.requested, 2 * n, JSON.stringify(dc.stats));
    assert.equal(dc.stats.opened, 2 * n, JSON.stringify(dc.stats) + dc.why());
    assert.equal(dc.stats.failed, 0, JSON.stringify(dc.stats));
    assert.ok(dc.stats.sent >= 2 * n * 5 && dc.stats.received >= 2 * n * 5,
      JSON.stringify(dc.stats));
    const dcFrames = await relayFrames(sig);
    assert.equal(dcFrames, 0, 'browser-to-browser traffic went through the relay');

    // No channel opens: the relay carries it all, a little later.
    const fb = await campaign(browser, pool, 'fallback', datasets(3, 70), '&datachannel=fail');
    assert.equal(fb.stats.opened, 0, JSON.stringify(fb.stats));
    assert.equal(fb.stats.sent, 0, JSON.stringify(fb.stats));
    const fbFrames = (await relayFrames(sig)) - dcFrames;
    assert.ok(fbFrames > dcFrames && fbFrames >= 3 * 2 * 5,
      `relay frames: ${fbFrames} without channels, ${dcFrames} with`);
  } finally {
    await browser.close();
    lib.stopAll();
  }
});

test('a fast sender on a DataChannel is held: the page queues a bounded part of a 96 MiB stream', async () => {
  const dir = lib.tmpdir();
  const sig = await lib.startWsig();
  const pool = await lib.startPool(dir, ['--sig', sig.url]);
  const browser = await lib.launch();
  try {
    const input = JSON.stringify({ n: 10, size: 64, stream_n: 96, stream_size: 1 << 20 }) + '\n';
    lib.run('wpool', ['submit', 'stream', '--pool', pool.ws, '--kernel',
      path.join(lib.KERNELS, 'pingpong.so'), '--group', '2', '--timeout', '120s'], input);
    const { page, logs } = await lib.newPage(browser, { workerLogs: true });
    const why = () => '; page log: ' + logs.join(' | ') + '; pool log: ' + pool.log().slice(-3000);
    await page.goto(`${pool.http}/?workers=2`);
    await page.getByRole('button', { name: 'Join' }).click();
    await wait(pool, 'stream').catch((e) => { throw new Error(e.message + why()); });
    const results = lib.lines(lib.run('wpool', ['results', 'stream', '--pool', pool.ws]));
    assert.equal(results.length, 1, JSON.stringify(results));
    assert.ok(!results[0].error && results[0].output[0].stream_n === 96, JSON.stringify(results));
    const stats = await page.evaluate(() => wkitChannels.stats);
    assert.equal(stats.opened, 2, JSON.stringify(stats) + why());
    assert.ok(stats.sentBytes >= 96 << 20, JSON.stringify(stats));
    // The member's backlog bound (32 MiB) plus what was in flight when it
    // was held: far from the 96 MiB an unheld sender leaves on the page.
    assert.ok(stats.maxQueuedBytes > 0 && stats.maxQueuedBytes <= 40 << 20, JSON.stringify(stats));
    await page.close();
  } finally {
    await browser.close();
    lib.stopAll();
  }
});
