// Autobahn-style malformed WebSocket frames sent over a raw TCP socket: wsig
// closes the offending connection and goes on serving everyone else.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const crypto = require('node:crypto');
const { get, sleep, SLACK } = require('./lib');
const { withWsig, openPeer } = require('./common');

// A raw WebSocket handshake to {path}peerjs as peer `id`; resolves with the socket.
function rawPeer(port, id) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.received = Buffer.alloc(0);
    sock.ended = new Promise((r) => sock.on('close', r));
    sock.on('error', () => {});
    sock.on('data', (d) => {
      sock.received = Buffer.concat([sock.received, d]);
      const end = sock.received.indexOf('\r\n\r\n');
      if (!sock.upgraded && end >= 0) {
        sock.upgraded = true;
        if (!/^HTTP\/1.1 101/.test(sock.received.toString())) reject(new Error(sock.received.toString()));
        sock.received = sock.received.subarray(end + 4);
        resolve(sock);
      }
    });
    sock.write(`GET /peerjs?key=peerjs&id=${id}&token=t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n');
  });
}

// A client frame: FIN/RSV/opcode byte, payload, masked unless told otherwise.
function wsFrame(first, payload, { mask = true, length } = {}) {
  payload = Buffer.from(payload);
  const n = length ?? payload.length;
  let head;
  if (n < 126) head = Buffer.from([first, (mask ? 0x80 : 0) | n]);
  else if (n < 65536) head = Buffer.from([first, (mask ? 0x80 : 0) | 126, n >> 8, n & 255]);
  else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = (mask ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  if (!mask) return Buffer.concat([head, payload]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([head, key, body]);
}

const MALFORMED = {
  'reserved bits set': wsFrame(0xf1, '{}'),
  'reserved opcode 3': wsFrame(0x83, 'x'),
  'reserved control opcode 0xB': wsFrame(0x8b, 'x'),
  'control frame longer than 125 bytes': wsFrame(0x89, Buffer.alloc(126)),
  'fragmented ping': wsFrame(0x09, 'x'),
  'continuation with no message': wsFrame(0x80, 'x'),
  'new message inside a fragmented one': Buffer.concat([wsFrame(0x01, '{"ty'), wsFrame(0x81, '{}')]),
  // Nothing is allocated for the declared length; the data that does come is
  // counted against --max-message.
  'length of 2^53 bytes': Buffer.concat([wsFrame(0x82, Buffer.alloc(0), { length: 2 ** 53 }), Buffer.alloc(4096)]),
  'message over --max-message': wsFrame(0x81, Buffer.alloc(2048, 0x20)),
  'close with a one-byte body': wsFrame(0x88, Buffer.from([3])),
  'close with invalid code 999': wsFrame(0x88, Buffer.from([0x03, 0xe7])),
  'random bytes': crypto.randomBytes(4096),
};

// True once the server has sent a close frame or closed the socket.
async function closedByServer(sock, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (sock.destroyed || sock.readyState === 'closed') return true;
    // Server frames are unmasked: walk them looking for opcode 8.
    const r = sock.received;
    for (let at = 0; at + 2 <= r.length;) {
      if ((r[at] & 0x0f) === 8) return true;
      let n = r[at + 1] & 0x7f;
      let head = 2;
      if (n === 126) { n = r.readUInt16BE(at + 2); head = 4; }
      else if (n === 127) { n = Number(r.readBigUInt64BE(at + 2)); head = 10; }
      at += head + n;
    }
    await sleep(20);
  }
  return false;
}

test('malformed frames close that connection only', () =>
  withWsig(['--max-message', '1'], async (s) => {
    const watcher = await openPeer(s, { id: 'watcher' });
    let i = 0;
    for (const [name, bytes] of Object.entries(MALFORMED)) {
      const sock = await rawPeer(s.port, `raw${i++}`);
      sock.write(bytes);
      const closed = await closedByServer(sock, 5000 * SLACK);
      sock.destroy();
      assert.ok(closed, `${name}: connection left open`);
      assert.equal((await get(`${s.http}/api/status`)).status, 200, `${name}: server gone`);
    }
    // libwebsockets 4.1 tolerates an unmasked client frame (RFC 6455 says
    // close); what matters is that nothing else is disturbed.
    const unmasked = await rawPeer(s.port, 'unmasked');
    unmasked.write(wsFrame(0x81, '{"type":"OFFER","dst":"watcher"}', { mask: false }));
    await sleep(200);
    unmasked.destroy();
    assert.ok(watcher.isOpen());
    // A frame cut short, then the socket dropped.
    const cut = await rawPeer(s.port, 'cut');
    cut.write(wsFrame(0x81, '{"type":"OFFER","dst":"watcher"}').subarray(0, 9));
    cut.destroy();
    await sleep(100);
    assert.equal(JSON.parse((await get(`${s.http}/api/status`)).body).peers, 1);
  }));

test('fragmented messages are joined; pings are answered', () =>
  withWsig([], async (s) => {
    const watcher = await openPeer(s, { id: 'watcher' });
    const sock = await rawPeer(s.port, 'frag');
    sock.write(Buffer.concat([
      wsFrame(0x01, '{"type":"OFFER",'),
      wsFrame(0x89, 'ping!'),  // a control frame between fragments is allowed
      wsFrame(0x00, '"dst":"watcher",'),
      wsFrame(0x80, '"payload":{"a":1}}'),
    ]));
    assert.deepEqual(await watcher.next(), { type: 'OFFER', src: 'frag', dst: 'watcher', payload: { a: 1 } });
    await sleep(100);
    // OPEN (text), then the pong.
    const r = sock.received;
    assert.ok(r.includes(Buffer.from([0x8a, 5])) && r.includes(Buffer.from('ping!')), 'no pong');
    sock.destroy();
  }));
