// The real `peerjs` client, unchanged, in headless Chromium pages talking
// through wsig: DataChannel messages both ways, a duplicate id, an absent id,
// a server-assigned id and a wrong key.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startWsig, SLACK } = require('./lib');

const PEERJS = path.join(process.env.NODE_PATH, 'peerjs/dist/peerjs.min.js');
const CHROMIUM = process.env.W_CHROMIUM || '/usr/bin/chromium';
const EXPIRE_MS = 1500;

// The page only loads the client; tests drive it with page.evaluate.
const PAGE = `<!doctype html><meta charset="utf-8"><title>wsig test</title>
<script src="/peerjs.min.js"></script>
<script>
  // Opens a Peer; resolves with its id, or rejects with the error's type and message.
  window.openPeer = (id, opts) => new Promise((resolve, reject) => {
    const peer = id ? new peerjs.Peer(id, opts) : new peerjs.Peer(opts);
    window.peer = peer;
    window.inbox = [];
    window.errors = [];
    peer.on('open', (got) => resolve(got));
    peer.on('error', (e) => { window.errors.push({ type: e.type, message: e.message, at: Date.now() }); reject(new Error(e.type + ': ' + e.message)); });
    // Answer every incoming connection: echo what arrives, prefixed.
    peer.on('connection', (conn) => conn.on('data', (d) => { window.inbox.push(d); conn.send('echo: ' + d); }));
  });
</script>`;

function staticServer() {
  const server = http.createServer((req, res) => {
    if (req.url === '/peerjs.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      fs.createReadStream(PEERJS).pipe(res);
    } else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(PAGE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let wsig, web, browser, opts;

test.before(async () => {
  wsig = await startWsig(['--expire-timeout', String(EXPIRE_MS)]);
  web = await staticServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      // Host candidates as plain addresses: no mDNS on a test machine.
      '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  opts = { host: '127.0.0.1', port: wsig.port, path: '/', key: 'peerjs', config: { iceServers: [] }, debug: 1 };
});

test.after(async () => {
  if (browser) await browser.close();
  if (web) web.close();
  if (wsig) {
    const e = await wsig.stop();
    assert.equal(e.code, 0, `wsig exit: ${JSON.stringify(e)}\n${wsig.stderr()}`);
  }
});

async function newPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => { if (process.env.W_DEBUG) console.log(`[page] ${m.text()}`); });
  await page.goto(`http://127.0.0.1:${web.address().port}/`);
  return page;
}

// Connects `page`'s peer to `dst`, sends `text`, resolves with the echo.
const roundTrip = (page, dst, text) => page.evaluate(([dst, text]) => new Promise((resolve, reject) => {
  const conn = window.peer.connect(dst, { reliable: true });
  conn.on('open', () => conn.send(text));
  conn.on('data', (d) => resolve(d));
  conn.on('error', (e) => reject(new Error(String(e))));
  setTimeout(() => reject(new Error('no echo within 20 s')), 20000);
}), [dst, text]);

test('two pages exchange DataChannel messages both ways by id', { timeout: 60000 * SLACK }, async () => {
  const alice = await newPage();
  const bob = await newPage();
  assert.equal(await alice.evaluate((o) => window.openPeer('alice', o), opts), 'alice');
  assert.equal(await bob.evaluate((o) => window.openPeer('bob', o), opts), 'bob');
  assert.equal(await roundTrip(bob, 'alice', 'hello from bob'), 'echo: hello from bob');
  assert.equal(await roundTrip(alice, 'bob', 'hello from alice'), 'echo: hello from alice');
  assert.deepEqual(await alice.evaluate(() => window.inbox), ['hello from bob']);
  assert.deepEqual(await bob.evaluate(() => window.inbox), ['hello from alice']);

  // A third page asking for 'alice' is told the id is taken.
  const carol = await newPage();
  await assert.rejects(carol.evaluate((o) => window.openPeer('alice', o), opts), /unavailable-id/);
  await Promise.all([alice.context().close(), bob.context().close(), carol.context().close()]);
});

test('an absent id gets peer-unavailable after the expire timeout', { timeout: 60000 * SLACK }, async () => {
  const page = await newPage();
  await page.evaluate((o) => window.openPeer('lonely', o), opts);
  const waited = await page.evaluate(() => new Promise((resolve) => {
    const t0 = Date.now();
    window.peer.on('error', (e) => resolve({ type: e.type, ms: Date.now() - t0 }));
    window.peer.connect('nobody-here');
  }));
  assert.equal(waited.type, 'peer-unavailable');
  assert.ok(waited.ms >= EXPIRE_MS - 100, `after ${waited.ms} ms`);
  await page.context().close();
});

test('an id assigned by the server works', { timeout: 60000 * SLACK }, async () => {
  const a = await newPage();
  const b = await newPage();
  const id = await a.evaluate((o) => window.openPeer(null, o), opts);
  assert.match(id, /^[0-9a-f-]{36}$/);
  await b.evaluate((o) => window.openPeer(null, o), opts);
  assert.equal(await roundTrip(b, id, 'to an assigned id'), 'echo: to an assigned id');
  await Promise.all([a.context().close(), b.context().close()]);
});

test('a wrong key gets the server error', { timeout: 60000 * SLACK }, async () => {
  const page = await newPage();
  await assert.rejects(page.evaluate((o) => window.openPeer('keyless', { ...o, key: 'wrong' }), opts),
    /server-error: Invalid key provided/);
  await page.context().close();
});
