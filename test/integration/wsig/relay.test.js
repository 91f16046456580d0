// Relay circuits: binary data between two peers through wsig, flow-controlled
// by a credit window so a slow receiver slows its sender.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { get, sleep, SLACK } = require('./lib');
const { withWsig, openPeer } = require('./common');

const frame = (id, data) => Buffer.concat([Buffer.from([0, id.length]), Buffer.from(id), Buffer.from(data)]);
function parseFrame(buf) {
  assert.equal(buf[0], 0);
  const n = buf[1];
  return { src: buf.subarray(2, 2 + n).toString(), data: buf.subarray(2 + n) };
}
async function metric(s, name) {
  const m = (await get(`${s.http}/metrics`)).body;
  return Number(new RegExp(`^wsig_${name} (\\d+)$`, 'm').exec(m)[1]);
}

async function openCircuit(a, b) {
  a.send({ type: 'RELAY-OPEN', dst: 'bob' });
  const toB = await b.next();
  assert.equal(toB.type, 'RELAY-OPEN');
  assert.equal(toB.src, 'alice');
  const toA = await a.next();
  assert.equal(toA.type, 'RELAY-OPEN');
  assert.equal(toA.src, 'bob');
  return toA.window;
}

test('a circuit carries binary data both ways, and acks reach the sender', () =>
  withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    assert.equal(await openCircuit(a, b), 256 * 1024);
    const bytes = Buffer.from([0, 1, 2, 255, 0x7b]);
    a.send(frame('bob', bytes), true);
    const got = await b.nextRaw();
    assert.ok(got.isBinary);
    const f = parseFrame(got.data);
    assert.equal(f.src, 'alice');
    assert.deepEqual([...f.data], [...bytes]);
    b.send({ type: 'RELAY-ACK', dst: 'alice', bytes: 5 });
    assert.deepEqual(await a.next(), { type: 'RELAY-ACK', src: 'bob', bytes: 5 });
    b.send(frame('alice', 'pong'), true);
    assert.equal(parseFrame((await a.nextRaw()).data).data.toString(), 'pong');
    a.send({ type: 'RELAY-CLOSE', dst: 'bob' });
    assert.deepEqual(await b.next(), { type: 'RELAY-CLOSE', src: 'alice' });
    a.send(frame('bob', 'late'), true);
    assert.deepEqual(await a.next(), { type: 'RELAY-CLOSE', src: 'bob', payload: { msg: 'No such circuit' } });
  }));

test('opening to an absent peer, to oneself, or with --no-relay is refused', async () => {
  await withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    a.send({ type: 'RELAY-OPEN', dst: 'nobody' });
    assert.deepEqual(await a.next(), { type: 'RELAY-CLOSE', src: 'nobody', payload: { msg: 'Peer is not connected' } });
    a.send({ type: 'RELAY-OPEN', dst: 'alice' });
    assert.equal((await a.next()).payload.msg, 'Cannot relay to oneself');
  });
  await withWsig(['--no-relay'], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    await openPeer(s, { id: 'bob' });
    a.send({ type: 'RELAY-OPEN', dst: 'bob' });
    assert.deepEqual(await a.next(), { type: 'RELAY-CLOSE', src: 'bob', payload: { msg: 'Relay is disabled' } });
  });
});

test('a disconnect closes its circuits; the other side is told', () =>
  withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    await openCircuit(a, b);
    await a.close();
    assert.deepEqual(await b.next(), { type: 'RELAY-CLOSE', src: 'alice', payload: { msg: 'Peer disconnected' } });
    assert.equal(await metric(s, 'relay_circuits'), 0);
  }));

test('a sender that ignores the window loses the circuit', () =>
  withWsig(['--relay-window', '4'], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    assert.equal(await openCircuit(a, b), 4096);
    a.send(frame('bob', Buffer.alloc(4000)), true);
    a.send(frame('bob', Buffer.alloc(200)), true);
    assert.equal(parseFrame((await b.nextRaw()).data).data.length, 4000);
    assert.deepEqual(await b.next(), { type: 'RELAY-CLOSE', src: 'alice', payload: { msg: 'Window exceeded' } });
    assert.deepEqual(await a.next(), { type: 'RELAY-CLOSE', src: 'bob', payload: { msg: 'Window exceeded' } });
  }));

test('a slow receiver slows its sender; wsig holds at most one window', () =>
  withWsig(['--relay-window', '64'], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    const window = await openCircuit(a, b);
    const chunk = 8192;
    const total = 1024 * 1024;
    let sent = 0;
    let acked = 0;
    let maxFlight = 0;
    // The sender keeps the window full, as a relay client should.
    const pump = () => {
      while (sent < total && sent - acked + chunk <= window) {
        a.send(frame('bob', Buffer.alloc(chunk, sent & 255)), true);
        sent += chunk;
      }
    };
    const sender = (async () => {
      pump();
      while (acked < total) {
        const m = await a.next(10000);
        assert.equal(m.type, 'RELAY-ACK');
        acked += m.bytes;
        pump();
      }
    })();
    // The receiver takes 64 KiB per 50 ms: about 1.3 MB/s.
    const t0 = Date.now();
    let received = 0;
    const poll = setInterval(async () => {
      maxFlight = Math.max(maxFlight, await metric(s, 'relay_in_flight_bytes'));
    }, 20);
    try {
      while (received < total) {
        let batch = 0;
        while (batch < 64 * 1024 && received < total) {
          const f = parseFrame((await b.nextRaw(10000)).data);
          batch += f.data.length;
          received += f.data.length;
        }
        await sleep(50);
        b.send({ type: 'RELAY-ACK', dst: 'alice', bytes: batch });
      }
      await sender;
    } finally {
      clearInterval(poll);
    }
    const secs = (Date.now() - t0) / 1000;
    assert.ok(secs >= 0.7, `the sender was not slowed down (${secs} s)`);
    assert.ok(maxFlight <= window, `in flight ${maxFlight} > window ${window}`);
  }));

test('a receiver that stops reading stalls its sender at one window', () =>
  withWsig(['--relay-window', '64'], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    const window = await openCircuit(a, b);
    b.ws._socket.pause();  // not even TCP reads
    let sent = 0;
    while (sent + 4096 <= window) {
      a.send(frame('bob', Buffer.alloc(4096)), true);
      sent += 4096;
    }
    await sleep(300 * SLACK);
    assert.equal(await metric(s, 'relay_in_flight_bytes'), window);
    a.send(frame('bob', Buffer.alloc(1)), true);
    assert.equal((await a.next()).payload.msg, 'Window exceeded');
    b.ws._socket.resume();
  }));
