// `wpool serve --ice-server`: a real coturn on 127.0.0.1 as the TURN server
// of the pages' DataChannels (browser_ice.sh says what this shows).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn, execFile, spawnSync } = require('node:child_process');
const lib = require('./lib');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function wait(pool, name) {
  return new Promise((resolve, reject) => {
    execFile(path.join(lib.BIN, 'wpool'), ['wait', name, '--pool', pool.ws, '--timeout', '120s'],
      { timeout: 130000 }, (e, stdout, stderr) => (e ? reject(new Error(stderr || e.message)) : resolve()));
  });
}

async function relayFrames(sig) {
  const metrics = await (await fetch(sig.http + '/metrics')).text();
  return Number((/^wsig_relay_frames_total (\d+)/m.exec(metrics) || [0, 0])[1]);
}

function datasets(n, x0) {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ x: x0 + i, rounds: 5 })).join('\n') + '\n';
}

// Runs ring campaign `name` on a fresh relay-only page; returns the page's stats.
async function campaign(browser, pool, name, data) {
  lib.run('wpool', ['submit', name, '--pool', pool.ws, '--kernel',
    path.join(lib.KERNELS, 'ring.so'), '--group', '2', '--timeout', '90s'], data);
  const { page, logs } = await lib.newPage(browser, { workerLogs: true });
  const why = () => '; page log: ' + logs.slice(-40).join(' | ') + '; pool log: ' +
    pool.log().slice(-2000);
  try {
    await page.goto(`${pool.http}/?workers=2&ice=relay`);
    await page.getByRole('button', { name: 'Join' }).click();
    await wait(pool, name);
  } catch (e) {
    throw new Error(e.message + why());
  }
  const results = lib.lines(lib.run('wpool', ['results', name, '--pool', pool.ws]));
  assert.deepEqual(results.filter((r) => r.error), [], why());
  const urls = await page.evaluate(() => wkitChannels.iceUrls());
  const stats = await page.evaluate(() => wkitChannels.stats);
  await page.close();
  return { stats, urls, why };
}

test('DataChannels open through a TURN server named by --ice-server', async () => {
  const dir = lib.tmpdir();
  const turnPort = await freePort();
  const relayMin = 20000 + Math.floor(Math.random() * 20000);
  // coturn in the foreground, its files in dir: long-term credentials, UDP
  // only, loopback peers allowed (everything here is on 127.0.0.1).
  const turn = spawn('turnserver', ['-n', '--listening-ip', '127.0.0.1', '--relay-ip', '127.0.0.1',
    '--listening-port', String(turnPort), '--min-port', String(relayMin),
    '--max-port', String(relayMin + 200), '--lt-cred-mech', '--user', 'wkit:s3cret',
    '--realm', 'wkit.test', '--no-tls', '--no-dtls', '--no-tcp-relay', '--no-cli',
    '--allow-loopback-peers', '--cli-password', 'x', '--pidfile', path.join(dir, 'turn.pid'),
    '--log-file', 'stdout', '--simple-log', '--verbose'], { stdio: ['ignore', 'pipe', 'pipe'] });
  process.on('exit', () => turn.kill('SIGKILL'));  // whatever fails below
  let turnLog = '';
  turn.stdout.on('data', (d) => { turnLog += d; });
  turn.stderr.on('data', (d) => { turnLog += d; });
  const sig = await lib.startWsig();
  const turnUrl = `turn:127.0.0.1:${turnPort}?transport=udp`;
  const pool = await lib.startPool(dir, ['--sig', sig.url, '--ice-server', turnUrl,
    '--ice-username', 'wkit', '--ice-credential', 's3cret']);
  const browser = await lib.launch();
  try {
    await lib.until('coturn listening', () => /listener opened on|IPv4\. UDP listener/i.test(turnLog),
      10000).catch((e) => { throw new Error(e.message + ': ' + turnLog); });
    const ice = await (await fetch(pool.http + '/ice.json')).json();
    assert.deepEqual(ice, { iceServers: [{ urls: turnUrl, username: 'wkit', credential: 's3cret' }] });

    const n = 4;
    const dc = await campaign(browser, pool, 'turn', datasets(n, 7));
    assert.deepEqual(dc.urls, [turnUrl]);
    assert.equal(dc.stats.opened, 2 * n, JSON.stringify(dc.stats) + dc.why() + '; turn: ' +
      turnLog.slice(-2000));
    assert.equal(dc.stats.failed, 0, JSON.stringify(dc.stats));
    assert.equal(await relayFrames(sig), 0, 'browser-to-browser traffic went through wsig');
    assert.match(turnLog, /ALLOCATE.*success|allocation.*success|session .*: realm/i,
      'coturn allocated nothing: ' + turnLog.slice(-2000));

    // The same relay-only page from a pool without ICE servers: no channel.
    const bare = await lib.startPool(lib.tmpdir(), ['--sig', sig.url]);
    const none = await campaign(browser, bare, 'none', datasets(1, 70));
    assert.deepEqual(none.urls, []);
    assert.equal(none.stats.opened, 0, JSON.stringify(none.stats));
    assert.ok(await relayFrames(sig) > 0, 'without channels the relay carried nothing');
  } finally {
    await browser.close();
    lib.stopAll();
    turn.kill('SIGTERM');
  }

  // Refused at start, with the reason: not an ICE URL, TURN without a
  // user, a user without TURN, too many.
  const serve = (extra) => spawnSync(path.join(lib.BIN, 'wpool'), ['serve', '--db',
    path.join(dir, 'x.db'), '--listen', '127.0.0.1:0', ...extra], { encoding: 'utf8', timeout: 10000 });
  const cases = [
    [['--ice-server', 'http://example.org/'], /not a stun:, stuns:, turn: or turns: URL/],
    [['--ice-server', 'stun:'], /not a stun:/],
    [['--ice-server', 'turn:127.0.0.1:3478'], /needs --ice-username and --ice-credential/],
    [['--ice-server', 'stun:a:1', '--ice-username', 'u'], /are for a turn: --ice-server/],
    [Array.from({ length: 17 }, (_, i) => ['--ice-server', `stun:h${i}:1`]).flat(), /at most 16/],
  ];
  for (const [args, message] of cases) {
    const r = serve(args);
    assert.notEqual(r.status, 0, args.join(' ') + ' started');
    assert.match(r.stderr, message, args.join(' '));
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
