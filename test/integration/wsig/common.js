// What every wsig test file shares: a fresh wsig per test, checked to exit
// cleanly, and peers that have seen their OPEN.
'use strict';
const assert = require('node:assert/strict');
const { startWsig, Client } = require('./lib');

async function withWsig(args, fn) {
  const server = await startWsig(args);
  try {
    await fn(server);
  } finally {
    const e = await server.stop();
    assert.equal(e.code, 0, `wsig exit: ${JSON.stringify(e)}\n${server.stderr()}`);
  }
}

async function openPeer(server, opts) {
  const c = await Client.peer(server, opts);
  assert.deepEqual(await c.next(), { type: 'OPEN' });
  return c;
}

module.exports = { withWsig, openPeer };
