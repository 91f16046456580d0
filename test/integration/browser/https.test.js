// The volunteer page served over https by `wpool serve --sslkey --sslcert`
// (a test CA made here by openssl) follows its origin: its Web Workers
// connect with wss:// and run a divisible campaign to the end, results
// equal to the filter-mode run; http:// to the same port is redirected to
// https://, and nothing is served in clear.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const lib = require('./lib');
const tls = require('./tls');

const STATIC = '{"divisor":97}';

test('the volunteer page over https runs a campaign over wss', async () => {
  const dir = lib.tmpdir();
  const certs = tls.makeCerts(dir);
  const pool = await lib.startPool(dir, ['--sslkey', certs.key, '--sslcert', certs.cert]);
  const wss = `wss://localhost:${pool.port}`;
  const https = `https://localhost:${pool.port}`;
  const client = ['--pool', wss, '--cacert', certs.ca];
  const datasets = lib.run('wgen', ['range', '0', '50000', '--step', '500']);
  lib.run('wpool', ['submit', 'div', ...client, '--kernel',
    path.join(lib.KERNELS, 'divisible.so'), '--static', STATIC], datasets);

  const browser = await tls.launchTrusting(certs.spki);
  try {
    const { page, logs } = await lib.newPage(browser);
    const response = await page.goto(`${https}/?workers=2`);
    assert.equal(response.status(), 200);
    assert.equal(await page.evaluate(() => location.protocol), 'https:');
    assert.equal(await page.textContent('#pool'), wss, 'the page does not follow its origin');
    await page.getByRole('button', { name: 'Join' }).click();
    // Awaited, not waited for synchronously: playwright starts each Web
    // Worker only while this process answers it.
    await lib.until('2 browser workers over wss', () => {
      const workers = JSON.parse(lib.run('wpool', ['workers', '--json', ...client]));
      return workers.filter((w) => w.connected && w.platform === 'wasm32').length === 2;
    }, 20000).catch((e) => { throw new Error(e.message + '; page log: ' + logs.join(' | ')); });
    await lib.until('the campaign done', () => JSON.parse(lib.run('wpool',
      ['status', 'div', '--json', ...client])).campaigns[0].complete, 90000);
    const results = lib.lines(lib.run('wpool', ['results', 'div', ...client]));
    assert.equal(results.length, 100);
    assert.deepEqual(results.filter((r) => r.error), []);
    assert.ok(results.every((r) => r.platform === 'wasm32'), 'a result came from elsewhere');
    const want = lib.lines(lib.run('wrun', ['-k', path.join(lib.KERNELS, 'divisible.so'),
      '--static', STATIC], datasets));
    const bySeq = (rs) => new Map(rs.map((r) => [r.seq, JSON.stringify(r.output)]));
    assert.deepEqual(bySeq(results), bySeq(want));
    assert.ok(!logs.some((l) => /Mixed Content|insecure/i.test(l)), logs.join(' | '));

    // http:// on the TLS port: redirected, the page then comes over https.
    const plain = await (await browser.newContext()).newPage();
    await plain.goto(`http://localhost:${pool.port}/dashboard.html`);
    assert.equal(new URL(plain.url()).protocol, 'https:');
  } finally {
    await browser.close();
    lib.stopAll();
  }
});
