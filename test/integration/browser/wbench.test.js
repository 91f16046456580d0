// The volunteer page in headless Chromium rates the browser with
// wbench.wasm (the Dhrystone of native wbench) in a Web Worker, without
// stalling the page's thread; it shows the score, each of its 2 workers
// sends it in its hello (`wpool workers --json`, /api/status and the
// dashboard show it), and a reload or a new tab reuses it (localStorage).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const lib = require('./lib');

test('the volunteer page rates the browser and its workers report the score', async () => {
  const dir = lib.tmpdir();
  const pool = await lib.startPool(dir);
  const browser = await lib.launch();
  try {
    const { page, logs } = await lib.newPage(browser);
    // The page's thread ticks every 20 ms; a Dhrystone run on it would
    // leave a gap as long as the run.
    await page.addInitScript(() => {
      window.ticks = [];
      setInterval(() => window.ticks.push(performance.now()), 20);
    });
    const t0 = Date.now();
    await page.goto(`${pool.http}/?workers=2`);
    const score = await lib.until('the Dhrystone score', () => page.evaluate(() => wkit.score),
      20000).catch((e) => { throw new Error(e.message + '; page log: ' + logs.join(' | ')); });
    const took = Date.now() - t0;
    assert.equal(score.error, undefined, 'wbench.wasm failed: ' + score.error);
    assert.ok(score.dhrystones_per_second > 0, JSON.stringify(score));
    assert.ok(Math.abs(score.dmips - score.dhrystones_per_second / 1757) < 0.1, JSON.stringify(score));
    assert.ok(score.seconds >= 0.1, 'the measurement was shorter than 0.1 s: ' + score.seconds);
    assert.ok(score.measurements >= 2, 'the score is not the best of several: ' + JSON.stringify(score));
    assert.ok(took < 10000, `the rating took ${took} ms`);
    const text = await page.locator('#score').textContent();
    assert.match(text, /^[\d,]+ Dhrystones\/s, [\d.]+ DMIPS$/);
    assert.equal(Number(text.split(' ')[0].replace(/,/g, '')),
      Math.round(score.dhrystones_per_second));
    const gap = await page.evaluate(() => {
      let g = 0;
      for (let i = 1; i < ticks.length; i++) g = Math.max(g, ticks[i] - ticks[i - 1]);
      return g;
    });
    assert.ok(gap < 400, `the page's thread stalled ${Math.round(gap)} ms during the rating`);
    const native = JSON.parse(lib.run('wbench', ['--seconds', '0.5', '--json']));
    console.log(`browser: ${Math.round(score.dhrystones_per_second)} Dhrystones/s ` +
      `(${score.dmips} DMIPS) in ${took} ms from page load; native wbench: ` +
      `${native.dhrystones_per_second} Dhrystones/s`);

    await page.getByRole('button', { name: 'Join' }).click();
    const browsers = await lib.until('2 browser workers', async () => {
      const ws = JSON.parse(lib.run('wpool', ['workers', '--json', '--pool', pool.ws]))
        .filter((w) => w.platform === 'wasm32' && w.connected);
      return ws.length === 2 && ws;
    }, 20000).catch((e) => { throw new Error(e.message + '; page log: ' + logs.join(' | ')); });
    for (const w of browsers)
      assert.equal(Math.round(w.score), Math.round(score.dhrystones_per_second), JSON.stringify(w));
    const status = (await lib.status(pool)).workers.filter((w) => w.platform === 'wasm32');
    assert.equal(status.length, 2);
    assert.ok(status.every((w) => w.score > 0), JSON.stringify(status));

    const dash = await browser.newPage();
    await dash.goto(`${pool.http}/dashboard.html`);
    const scores = await lib.until('the dashboard\'s browser workers', () => dash.evaluate(() => {
      const rows = [...document.querySelectorAll('#workers tr')]
        .map((tr) => [...tr.cells].map((td) => td.textContent))
        .filter((cells) => cells[1] === 'wasm32');
      return rows.length === 2 && rows.map((cells) => Number(cells[3]));
    }), 10000);
    assert.ok(scores.every((s) => s > 0), 'dashboard scores: ' + scores);

    // A reload (same tab) shows the score it measured, without measuring again.
    await page.reload();
    const again = await lib.until('the score after a reload', () => page.evaluate(() => wkit.score));
    assert.deepEqual(again, score);
    // So does a new tab of the same browser profile.
    const tab = await page.context().newPage();
    await tab.goto(`${pool.http}/?workers=1`);
    const tabScore = await lib.until('the score in a new tab', () => tab.evaluate(() => wkit.score));
    assert.deepEqual(tabScore, score);
  } finally {
    await browser.close();
    lib.stopAll();
  }
});
