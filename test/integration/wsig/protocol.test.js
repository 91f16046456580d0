// The PeerJS drop-in rules of wsig(1), each checked against the real wsig
// with raw WebSocket clients.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Client, get, sleep, SLACK } = require('./lib');
const { withWsig, openPeer } = require('./common');


test('HTTP: description, fresh ids, peers only with discovery', () =>
  withWsig([], async (s) => {
    const root = await get(`${s.http}/`);
    assert.equal(root.status, 200);
    assert.equal(JSON.parse(root.body).name, 'wsig');
    const id = await get(`${s.http}/peerjs/id?ts=123&version=1.5.5`);
    assert.equal(id.status, 200);
    assert.match(id.headers['content-type'], /text\/html/);
    assert.match(id.body, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual((await get(`${s.http}/peerjs/id`)).body, id.body);
    assert.equal((await get(`${s.http}/peerjs/peers`)).status, 401);
    assert.equal((await get(`${s.http}/nothing/here/at/all`)).status, 404);
  }));

test('HTTP: discovery lists connected ids; CORS reflects the Origin', () =>
  withWsig(['--allow-discovery'], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    const r = await get(`${s.http}/peerjs/peers`, { Origin: 'http://example.org' });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body).sort(), ['alice', 'bob']);
    assert.equal(r.headers['access-control-allow-origin'], 'http://example.org');
    const pre = await get(`${s.http}/peerjs/id`, { Origin: 'http://a.b', 'Access-Control-Request-Method': 'GET' }, 'OPTIONS');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://a.b');
    await a.close();
    await b.close();
    await sleep(100);
    assert.deepEqual(JSON.parse((await get(`${s.http}/peerjs/peers`)).body), []);
  }));

test('HTTP: a --cors list allows only its origins', () =>
  withWsig(['--cors', 'http://good.org', 'http://also.org'], async (s) => {
    const good = await get(`${s.http}/peerjs/id`, { Origin: 'http://also.org' });
    assert.equal(good.headers['access-control-allow-origin'], 'http://also.org');
    const bad = await get(`${s.http}/peerjs/id`, { Origin: 'http://evil.org' });
    assert.equal(bad.headers['access-control-allow-origin'], undefined);
  }));

test('a custom --path and --key move every endpoint', () =>
  withWsig(['--path', '/myapp', '--key', 'lab'], async (s) => {
    assert.equal((await get(`${s.http}/myapp`)).status, 200);
    assert.equal((await get(`${s.http}/myapp/`)).status, 200);
    assert.equal((await get(`${s.http}/myapp/lab/id`)).status, 200);
    assert.equal((await get(`${s.http}/lab/id`)).status, 404);
    const c = await openPeer(s, { id: 'p1', key: 'lab', path: '/myapp/' });
    await c.close();
    const bad = await Client.peer(s, { id: 'p2', key: 'peerjs', path: '/myapp/' });
    assert.deepEqual(await bad.next(), { type: 'ERROR', payload: { msg: 'Invalid key provided' } });
    await bad.closed;
  }));

test('a WebSocket on another path gets HTTP 400', () =>
  withWsig([], async (s) => {
    await assert.rejects(Client.open(`${s.ws}/elsewhere?key=peerjs&id=a&token=t`), { status: 400 });
  }));

test('missing id, token or key: ERROR, then close', () =>
  withWsig([], async (s) => {
    const want = { type: 'ERROR', payload: { msg: 'No id, token, or key supplied to websocket server' } };
    for (const opts of [{ id: null }, { id: 'a', token: null }, { id: 'a', key: null }, { id: '' }]) {
      const c = await Client.peer(s, opts);
      assert.deepEqual(await c.next(), want);
      await c.closed;
    }
  }));

test('a wrong key: ERROR "Invalid key provided", then close', () =>
  withWsig([], async (s) => {
    const c = await Client.peer(s, { id: 'a', key: 'nope' });
    assert.deepEqual(await c.next(), { type: 'ERROR', payload: { msg: 'Invalid key provided' } });
    await c.closed;
  }));

test('an id the PeerJS client would reject is refused', () =>
  withWsig([], async (s) => {
    for (const id of ['-a', 'a--b', 'a b ', 'x'.repeat(256), 'é']) {
      const c = await Client.peer(s, { id });
      assert.deepEqual(await c.next(), { type: 'ERROR', payload: { msg: 'Invalid id provided' } });
      await c.closed;
    }
    const ok = await openPeer(s, { id: 'some experiment_1-x' });
    await ok.close();
  }));

test('an id taken with another token: ID-TAKEN, then close; the owner stays', () =>
  withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice', token: 't1' });
    const b = await Client.peer(s, { id: 'alice', token: 't2' });
    assert.deepEqual(await b.next(), { type: 'ID-TAKEN', payload: { msg: 'ID is taken' } });
    await b.closed;
    const c = await openPeer(s, { id: 'carol' });
    c.send({ type: 'OFFER', dst: 'alice', payload: { x: 1 } });
    assert.equal((await a.next()).src, 'carol');
  }));

test('the same id and token take over: OPEN on the new socket, the old one closed', () =>
  withWsig([], async (s) => {
    const old = await openPeer(s, { id: 'alice', token: 't1' });
    const fresh = await openPeer(s, { id: 'alice', token: 't1' });
    await old.closed;
    const c = await openPeer(s, { id: 'carol' });
    c.send({ type: 'ANSWER', dst: 'alice', payload: 'p' });
    assert.deepEqual(await fresh.next(), { type: 'ANSWER', src: 'carol', dst: 'alice', payload: 'p' });
  }));

test('the concurrent limit: ERROR, then close', () =>
  withWsig(['--concurrent-limit', '2'], async (s) => {
    await openPeer(s, { id: 'a' });
    const b = await openPeer(s, { id: 'b' });
    const c = await Client.peer(s, { id: 'c' });
    assert.deepEqual(await c.next(), { type: 'ERROR', payload: { msg: 'Server has reached its concurrent user limit' } });
    await c.closed;
    await b.close();
    await sleep(100);
    await openPeer(s, { id: 'c' });
  }));

test('transmissions: src overwritten, payload spliced byte for byte', () =>
  withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    const payload = '{ "sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1", "n": 1.0e+2, "big": 12345678901234567890, "s": "\\u00e9\\ud83d\\ude00 é", "a":[ 1 ,2 ] }';
    for (const type of ['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE']) {
      a.send(`{"type":"${type}","src":"mallory","dst":"bob","payload":${payload}}`);
      assert.equal(await b.nextText(), `{"type":"${type}","src":"alice","dst":"bob","payload":${payload}}`);
    }
    // Binary frames carry JSON too; no payload means no payload key.
    a.send(Buffer.from('{"type":"CANDIDATE","dst":"bob"}'), true);
    assert.equal(await b.nextText(), '{"type":"CANDIDATE","src":"alice","dst":"bob"}');
  }));

test('invalid JSON, unknown types and HEARTBEAT are dropped silently', () =>
  withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    for (const bad of ['{', 'null', '[1]', '"OFFER"', '{"type":"OFFER","dst":"bob",}',
      '{"type":"NOPE","dst":"bob"}', '{"type":["OFFER"],"dst":"bob"}', '{"type":"OFFER","dst":5}',
      '{"type":"OFFER"}', '{"type":"HEARTBEAT","dst":"bob"}', '{"type":"OFFER","dst":"bob","payload":"\x01"}']) {
      a.send(bad);
    }
    a.send(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), true);  // {"\xff":1}
    await b.quiet(300);
    assert.ok(a.isOpen());
    a.send({ type: 'OFFER', dst: 'bob' });
    assert.equal((await b.next()).type, 'OFFER');
  }));

test('messages to an absent id wait, then arrive after OPEN in order', () =>
  withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    for (let i = 0; i < 5; i++) a.send({ type: 'CANDIDATE', dst: 'late', payload: i });
    a.send({ type: 'LEAVE', dst: 'late' });
    a.send({ type: 'EXPIRE', dst: 'late' });
    await sleep(100);
    const late = await Client.peer(s, { id: 'late' });
    assert.deepEqual(await late.next(), { type: 'OPEN' });
    for (let i = 0; i < 5; i++) assert.deepEqual(await late.next(), { type: 'CANDIDATE', src: 'alice', dst: 'late', payload: i });
    await late.quiet(200);
  }));

test('an undelivered queue expires: each sender gets EXPIRE once', () =>
  withWsig(['--expire-timeout', '300'], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    a.send({ type: 'OFFER', dst: 'ghost' });
    a.send({ type: 'CANDIDATE', dst: 'ghost' });
    b.send({ type: 'OFFER', dst: 'ghost' });
    const t0 = Date.now();
    assert.deepEqual(await a.next(2000), { type: 'EXPIRE', src: 'ghost', dst: 'alice' });
    assert.ok(Date.now() - t0 >= 250, 'expired too early');
    assert.deepEqual(await b.next(2000), { type: 'EXPIRE', src: 'ghost', dst: 'bob' });
    await a.quiet(200);
    const ghost = await openPeer(s, { id: 'ghost' });
    await ghost.quiet(200);
  }));

test('queues are bounded: the oldest message makes room and its sender hears EXPIRE', () =>
  withWsig(['--queue-limit', '2'], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    for (let i = 0; i < 3; i++) a.send({ type: 'CANDIDATE', dst: 'late', payload: i });
    assert.deepEqual(await a.next(), { type: 'EXPIRE', src: 'late', dst: 'alice' });
    const late = await openPeer(s, { id: 'late' });
    assert.equal((await late.next()).payload, 1);
    assert.equal((await late.next()).payload, 2);
  }));

test('a silent peer is closed after the alive timeout; a heartbeating one stays', () =>
  withWsig(['--alive-timeout', String(600 * SLACK)], async (s) => {
    const silent = await openPeer(s, { id: 'silent' });
    const alive = await openPeer(s, { id: 'alive' });
    const beat = setInterval(() => alive.send({ type: 'HEARTBEAT' }), 150);
    try {
      const t0 = Date.now();
      await silent.closed;
      assert.ok(Date.now() - t0 >= 400 * SLACK, 'closed too early');
      await sleep(700 * SLACK);
      assert.ok(alive.isOpen());
      const status = JSON.parse((await get(`${s.http}/api/status`)).body);
      assert.equal(status.peers, 1);
    } finally {
      clearInterval(beat);
    }
  }));

test('/metrics counts what happened', () =>
  withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    await openPeer(s, { id: 'bob' });
    a.send({ type: 'OFFER', dst: 'bob' });
    a.send('garbage');
    await sleep(200);
    const m = (await get(`${s.http}/metrics`)).body;
    assert.match(m, /^wsig_peers 2$/m);
    assert.match(m, /^wsig_messages_relayed_total 1$/m);
    assert.match(m, /^wsig_messages_dropped_total 1$/m);
  }));

test('TLS: https and wss with --sslkey and --sslcert', async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const https = require('node:https');
  const WebSocket = require('ws');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsig-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    require('node:child_process').execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    await withWsig(['--sslkey', key, '--sslcert', cert], async (s) => {
      const id = await new Promise((resolve, reject) => {
        https.get(`https://127.0.0.1:${s.port}/peerjs/id`, { rejectUnauthorized: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
      assert.equal(id.length, 36);
      const ws = new WebSocket(`wss://127.0.0.1:${s.port}/peerjs?key=peerjs&id=${id}&token=t`, { rejectUnauthorized: false });
      const first = await new Promise((resolve, reject) => {
        ws.on('message', (d) => resolve(JSON.parse(d)));
        ws.on('error', reject);
      });
      assert.deepEqual(first, { type: 'OPEN' });
      ws.close();
    });
    // A key that is not a key: a clear error, not a server without TLS.
    fs.writeFileSync(path.join(dir, 'bad.pem'), 'not a key\n');
    const { startWsig } = require('./lib');
    await assert.rejects(startWsig(['--sslkey', path.join(dir, 'bad.pem'), '--sslcert', cert]), /could not start TLS/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
