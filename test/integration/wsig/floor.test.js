// bench/relay_floor, the floor of bench/wsig.sh, relays correctly: what a
// peer sends to another's id arrives byte for byte and in order, whatever
// the frame's length, however TCP splits it, however slowly the receiver
// reads. Run by test/integration/relay_floor.sh (after the wsig_load check).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const crypto = require('node:crypto');
const { startWsig, Client, sleep } = require('./lib');

// The floor speaks like wsig on the command line: --port 0 --host, and
// "listening on HOST:PORT" on stderr. W_BIN is build/bin, the floor build/bench.
async function withFloor(fn) {
  const server = await startWsig([], { bin: '../bench/relay_floor' });
  try {
    await fn(server);
  } finally {
    const e = await server.stop();
    assert.equal(e.code, 0, `relay_floor exit: ${JSON.stringify(e)}\n${server.stderr()}`);
  }
}

async function peer(server, id) {
  const c = await Client.peer(server, { id });
  assert.equal(await c.nextText(), '{"type":"OPEN"}');
  return c;
}

// A PeerJS-shaped message to `dst` of exactly `size` bytes, random inside.
function offer(dst, size) {
  const head = `{"type":"OFFER","dst":"${dst}","payload":"`;
  const fill = crypto.randomBytes(size).toString('base64').slice(0, size - head.length - 2);
  const m = `${head}${fill}"}`;
  assert.equal(m.length, size);
  return m;
}

test('every length class arrives intact, text and binary', async () => {
  await withFloor(async (server) => {
    const a = await peer(server, 'a');
    const b = await peer(server, 'b');
    // 7-bit, 16-bit and 64-bit lengths at their edges, and larger than a read.
    const sizes = [40, 125, 126, 127, 65535, 65536, 65537, 300000, 1 << 20];
    for (const size of sizes) {
      const m = offer('b', size);
      a.send(m);
      const got = await b.nextRaw(10000);
      assert.equal(got.isBinary, false);
      assert.equal(got.data.length, size, `length ${size}`);
      assert.ok(got.data.equals(Buffer.from(m)), `content of the ${size}-byte message`);
      const bin = Buffer.from(offer('a', size));
      b.send(bin, true);
      const back = await a.nextRaw(10000);
      assert.equal(back.isBinary, true);
      assert.ok(back.data.equals(bin), `content of the ${size}-byte binary message`);
    }
    await a.close();
    await b.close();
  });
});

test('a receiver that stops reading gets everything in order once it reads again', async () => {
  await withFloor(async (server) => {
    const a = await peer(server, 'a');
    const b = await peer(server, 'b');
    b.ws._socket.pause();
    // 48 MiB: far beyond the socket buffers, so the floor's sends to b stop
    // short and the rest waits for EPOLLOUT.
    const sent = [];
    for (let i = 0; i < 48; ++i) {
      const m = offer('b', 1 << 20).replace('"payload":"', `"payload":"${String(i).padStart(4, '0')}`);
      sent.push(m);
      a.send(m);
    }
    await sleep(500);
    b.ws._socket.resume();
    for (let i = 0; i < sent.length; ++i) {
      const got = await b.nextRaw(20000);
      assert.ok(got.data.equals(Buffer.from(sent[i])), `message ${i} intact and in order`);
    }
    await a.close();
    await b.close();
  });
});

// A raw client: the handshake and masked frames trickled a few bytes per
// TCP segment, so every header and payload is split across reads.
test('requests and frames split across many reads', async () => {
  await withFloor(async (server) => {
    const b = await peer(server, 'b');
    const sock = net.connect(server.port, '127.0.0.1');
    sock.setNoDelay(true);
    let received = Buffer.alloc(0);
    sock.on('data', (d) => (received = Buffer.concat([received, d])));
    await new Promise((r) => sock.on('connect', r));
    const frame = (payload) => {
      const p = Buffer.from(payload);
      const key = crypto.randomBytes(4);
      const head = p.length < 126 ? Buffer.from([0x81, 0x80 | p.length])
        : Buffer.from([0x81, 0x80 | 126, p.length >> 8, p.length & 255]);
      return Buffer.concat([head, key, Buffer.from(p.map((x, i) => x ^ key[i % 4]))]);
    };
    const msgs = [offer('b', 60), offer('b', 200), offer('b', 1000)];
    const bytes = Buffer.concat([
      Buffer.from('GET /peerjs?key=peerjs&id=raw&token=t HTTP/1.1\r\nHost: x\r\n' +
        'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
        'Sec-WebSocket-Version: 13\r\n\r\n'),
      ...msgs.map(frame),
    ]);
    for (let at = 0; at < bytes.length; at += 37) {
      sock.write(bytes.subarray(at, at + 37));
      await sleep(2);
    }
    for (const m of msgs) assert.equal(await b.nextText(5000), m);
    assert.match(received.toString('latin1'), /^HTTP\/1.1 101 .*\r\n\r\n\x81\x0f\{"type":"OPEN"\}$/s);
    sock.destroy();
    await b.close();
  });
});

test('unknown dst is dropped, ping answered, a taken id refused, unmasked frames closed', async () => {
  await withFloor(async (server) => {
    const a = await peer(server, 'a');
    const b = await peer(server, 'b');
    a.send(offer('nobody', 100));
    const pong = new Promise((r) => a.ws.once('pong', (d) => r(d.toString())));
    a.ws.ping('hello');
    assert.equal(await pong, 'hello');
    await assert.rejects(Client.peer(server, { id: 'a' }), { status: 409 });
    await b.quiet(200);
    a.send(offer('b', 100));
    assert.equal((await b.nextRaw()).data.length, 100);
    // RFC 6455 5.1: a server closes a connection that sends an unmasked frame.
    const sock = net.connect(server.port, '127.0.0.1');
    sock.on('data', () => {});
    sock.on('error', () => {});
    sock.write('GET /peerjs?id=bare HTTP/1.1\r\nSec-WebSocket-Key: x\r\n\r\n');
    const bare = Buffer.from('{"type":"OFFER","dst":"b"}');
    sock.write(Buffer.concat([Buffer.from([0x81, bare.length]), bare]));
    await new Promise((r) => sock.on('close', r));
    await b.quiet(200);
    await a.close();
    await b.close();
  });
});
