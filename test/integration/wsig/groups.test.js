// Peer groups: prefix groups listed over HTTP (the WebRTC blog's way) and the
// explicit GROUP-* service with announcements, timeouts and capabilities.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Client, get, sleep, SLACK } = require('./lib');
const { withWsig, openPeer } = require('./common');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function secretFile() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsig-'));
  const file = path.join(dir, 'group.secret');
  fs.writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return file;
}

const list = async (s, url) => {
  const r = await get(`${s.http}${url}`);
  assert.equal(r.status, 200, `${url}: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
};

// w1:SERVICE:OBJECT:RIGHTS:EXPIRES:MAC (w/cap.h); rights 1 create, 2 join.
function capability(secret, group, rights) {
  const mask = (rights.includes('c') ? 1 : 0) | (rights.includes('j') ? 2 : 0);
  const body = `w1:wsig:${group}:${mask.toString(16)}:0`;
  return `${body}:${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

test('peers of someexperiment list each other without global discovery', () =>
  withWsig([], async (s) => {
    const peers = [];
    for (const id of ['someexperiment-1', 'someexperiment-2', 'other-1', 'someexperimentX']) peers.push(await openPeer(s, { id }));
    assert.deepEqual(await list(s, '/peerjs/peers?prefix=someexperiment-'), ['someexperiment-1', 'someexperiment-2']);
    assert.deepEqual(await list(s, '/list/someexperiment'), ['someexperiment-1', 'someexperiment-2']);
    assert.deepEqual(await list(s, '/list/nobody'), []);
    // Not a group prefix: no listing without --allow-discovery.
    assert.equal((await get(`${s.http}/peerjs/peers?prefix=some`)).status, 401);
    assert.equal((await get(`${s.http}/peerjs/peers?prefix=`)).status, 401);
    await peers[0].close();
    await sleep(100);
    assert.deepEqual(await list(s, '/list/someexperiment'), ['someexperiment-2']);
  }));

test('--no-groups turns group listing and the group service off', () =>
  withWsig(['--no-groups'], async (s) => {
    const a = await openPeer(s, { id: 'exp-1' });
    assert.equal((await get(`${s.http}/peerjs/peers?prefix=exp-`)).status, 401);
    assert.equal((await get(`${s.http}/list/exp`)).status, 404);
    a.send({ type: 'GROUP-CREATE', group: 'exp' });
    assert.deepEqual(await a.next(), { type: 'GROUP-ERROR', group: 'exp', payload: { msg: 'Groups are disabled' } });
  }));

test('create, join, members, leave, delete, each announced to the group', () =>
  withWsig([], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    const b = await openPeer(s, { id: 'bob' });
    a.send({ type: 'GROUP-CREATE', group: 'lab' });
    assert.deepEqual(await a.next(), { type: 'GROUP-MEMBERS', group: 'lab', payload: ['alice'] });
    b.send({ type: 'GROUP-CREATE', group: 'lab' });
    assert.deepEqual(await b.next(), { type: 'GROUP-ERROR', group: 'lab', payload: { msg: 'Group exists' } });
    b.send({ type: 'GROUP-JOIN', group: 'lab' });
    assert.deepEqual(await b.next(), { type: 'GROUP-MEMBERS', group: 'lab', payload: ['alice', 'bob'] });
    assert.deepEqual(await a.next(), { type: 'GROUP-JOIN', src: 'bob', group: 'lab' });
    // A prefix member connecting is announced too, and listed.
    const c = await openPeer(s, { id: 'lab-3' });
    assert.deepEqual(await a.next(), { type: 'GROUP-JOIN', src: 'lab-3', group: 'lab' });
    assert.deepEqual(await b.next(), { type: 'GROUP-JOIN', src: 'lab-3', group: 'lab' });
    assert.deepEqual(await list(s, '/list/lab'), ['alice', 'bob', 'lab-3']);
    c.send({ type: 'GROUP-MEMBERS', group: 'lab' });
    assert.deepEqual(await c.next(), { type: 'GROUP-MEMBERS', group: 'lab', payload: ['alice', 'bob', 'lab-3'] });
    await c.close();
    assert.deepEqual(await a.next(), { type: 'GROUP-LEAVE', src: 'lab-3', group: 'lab' });
    assert.deepEqual(await b.next(), { type: 'GROUP-LEAVE', src: 'lab-3', group: 'lab' });
    b.send({ type: 'GROUP-LEAVE', group: 'lab' });
    assert.deepEqual(await b.next(), { type: 'GROUP-LEAVE', src: 'bob', group: 'lab' });
    assert.deepEqual(await a.next(), { type: 'GROUP-LEAVE', src: 'bob', group: 'lab' });
    b.send({ type: 'GROUP-DELETE', group: 'lab' });
    assert.deepEqual(await b.next(), { type: 'GROUP-ERROR', group: 'lab', payload: { msg: 'Only the owner may delete the group' } });
    a.send({ type: 'GROUP-DELETE', group: 'lab' });
    assert.deepEqual(await a.next(), { type: 'GROUP-DELETE', group: 'lab' });
    b.send({ type: 'GROUP-JOIN', group: 'lab' });
    assert.deepEqual(await b.next(), { type: 'GROUP-ERROR', group: 'lab', payload: { msg: 'No such group' } });
    a.send({ type: 'GROUP-CREATE', group: 'bad-name' });
    assert.deepEqual(await a.next(), { type: 'GROUP-ERROR', group: 'bad-name', payload: { msg: 'Invalid group name' } });
  }));

test('a member keeps its place across a reconnect within the member timeout', () =>
  withWsig(['--member-timeout', String(800 * SLACK)], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    let b = await openPeer(s, { id: 'bob', token: 'tb' });
    a.send({ type: 'GROUP-CREATE', group: 'lab' });
    await a.next();
    b.send({ type: 'GROUP-JOIN', group: 'lab' });
    await b.next();
    await a.next();  // bob joined
    await b.close();
    assert.deepEqual(await a.next(), { type: 'GROUP-LEAVE', src: 'bob', group: 'lab' });
    b = await openPeer(s, { id: 'bob', token: 'tb' });
    assert.deepEqual(await a.next(), { type: 'GROUP-JOIN', src: 'bob', group: 'lab' });
    assert.deepEqual(await list(s, '/list/lab'), ['alice', 'bob']);
    // Away past the member timeout: no longer a member when back.
    await b.close();
    await a.next();
    await sleep(1500 * SLACK);
    b = await openPeer(s, { id: 'bob', token: 'tb' });
    await a.quiet(200);
    assert.deepEqual(await list(s, '/list/lab'), ['alice']);
  }));

test('an empty created group is deleted after the group timeout', () =>
  withWsig(['--group-timeout', String(300 * SLACK), '--member-timeout', '100'], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    a.send({ type: 'GROUP-CREATE', group: 'lab' });
    await a.next();
    a.send({ type: 'GROUP-LEAVE', group: 'lab' });
    await a.next();
    await sleep(1200 * SLACK);
    const m = (await get(`${s.http}/metrics`)).body;
    assert.match(m, /^wsig_groups 0$/m);
    a.send({ type: 'GROUP-CREATE', group: 'lab' });
    assert.deepEqual(await a.next(), { type: 'GROUP-MEMBERS', group: 'lab', payload: ['alice'] });
  }));

const SECRET = 's3cret-s3cret-s3cret';

test('with a group secret, capabilities guard create, join and the prefix', () =>
  withWsig(['--group-secret', secretFile()], async (s) => {
    const a = await openPeer(s, { id: 'alice' });
    a.send({ type: 'GROUP-CREATE', group: 'lab' });
    assert.equal((await a.next()).type, 'GROUP-ERROR');
    a.send({ type: 'GROUP-CREATE', group: 'lab', cap: capability('wrong', 'lab', 'cj') });
    assert.equal((await a.next()).type, 'GROUP-ERROR');
    a.send({ type: 'GROUP-CREATE', group: 'lab', cap: capability(SECRET, 'lab', 'j') });
    assert.equal((await a.next()).type, 'GROUP-ERROR');
    a.send({ type: 'GROUP-CREATE', group: 'lab', cap: capability(SECRET, 'lab', 'c') });
    assert.deepEqual(await a.next(), { type: 'GROUP-MEMBERS', group: 'lab', payload: ['alice'] });
    const b = await openPeer(s, { id: 'bob' });
    b.send({ type: 'GROUP-JOIN', group: 'lab', cap: capability(SECRET, 'other', 'j') });
    assert.equal((await b.next()).type, 'GROUP-ERROR');
    b.send({ type: 'GROUP-JOIN', group: 'lab', cap: capability(SECRET, '*', 'j') });
    assert.equal((await b.next()).type, 'GROUP-MEMBERS');
    // Connecting as lab-... needs a join capability, in ?cap= or as the token.
    const denied = await Client.peer(s, { id: 'lab-1' });
    assert.deepEqual(await denied.next(), { type: 'ERROR', payload: { msg: 'A capability is required to connect in this group' } });
    await denied.closed;
    await openPeer(s, { id: 'lab-1', extra: `&cap=${encodeURIComponent(capability(SECRET, 'lab', 'j'))}` });
    await openPeer(s, { id: 'lab-2', token: capability(SECRET, 'lab', 'j') });
    // Ids outside created groups need nothing (UUIDs from /id have dashes).
    await openPeer(s, { id: '0b5e1b9c-1d2e-4f00-8a00-123456789abc' });
  }));

test('a peer named lab-x before guarded group lab existed is not its member', () =>
  withWsig(['--group-secret', secretFile()], async (s) => {
    // lab does not exist yet: lab-x connects without a capability.
    const early = await openPeer(s, { id: 'lab-x' });
    const a = await openPeer(s, { id: 'alice' });
    a.send({ type: 'GROUP-CREATE', group: 'lab', cap: capability(SECRET, 'lab', 'c') });
    assert.deepEqual(await a.next(), { type: 'GROUP-MEMBERS', group: 'lab', payload: ['alice'] });
    assert.deepEqual(await list(s, '/list/lab'), ['alice']);
    assert.deepEqual(await list(s, '/peerjs/peers?prefix=lab-'), []);
    // A lab-... admitted with a join capability is a member, and announced.
    const ok = await openPeer(s, { id: 'lab-y', token: capability(SECRET, 'lab', 'j') });
    assert.deepEqual(await a.next(), { type: 'GROUP-JOIN', src: 'lab-y', group: 'lab' });
    assert.deepEqual(await list(s, '/list/lab'), ['alice', 'lab-y']);
    assert.deepEqual(await list(s, '/peerjs/peers?prefix=lab-'), ['lab-y']);
    a.send({ type: 'GROUP-MEMBERS', group: 'lab' });
    assert.deepEqual(await a.next(), { type: 'GROUP-MEMBERS', group: 'lab', payload: ['alice', 'lab-y'] });
    // lab-x going is no member leaving: nothing is announced.
    await early.close();
    await a.quiet(300);
    await ok.close();
    assert.deepEqual(await a.next(), { type: 'GROUP-LEAVE', src: 'lab-y', group: 'lab' });
  }));
