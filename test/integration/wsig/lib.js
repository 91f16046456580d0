// Helpers for wsig's integration tests: start the real wsig on a free port,
// talk to it with raw WebSocket clients (npm `ws`), stop what we started.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const http = require('node:http');
const WebSocket = require('ws');

const SANITIZE = process.env.W_SANITIZE === '1';
// Slack for timing assertions: ASan builds run several times slower.
const SLACK = SANITIZE ? 4 : 1;

// Starts `wsig --port 0 ARGS...` and resolves once it prints its port.
function startWsig(args = [], { bin = 'wsig' } = {}) {
  const exe = path.join(process.env.W_BIN || 'build/bin', bin);
  const proc = spawn(exe, ['--port', '0', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`wsig did not start: ${stderr}`));
    }, 10000 * SLACK);
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on [\d.]+:(\d+)/.exec(stderr);
      if (m && timer) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          port,
          proc,
          http: `http://127.0.0.1:${port}`,
          ws: `ws://127.0.0.1:${port}`,
          stderr: () => stderr,
          // SIGTERM, then insist: returns the exit status, which must be 0
          // (a sanitizer report would make it non-zero).
          async stop() {
            if (!exited) proc.kill('SIGTERM');
            const t = setTimeout(() => proc.kill('SIGKILL'), 5000 * SLACK);
            const e = await exitPromise;
            clearTimeout(t);
            return e;
          },
        });
      }
    });
    exitPromise.then((e) => {
      clearTimeout(timer);
      reject(new Error(`wsig exited (${e.code ?? e.signal}) before listening: ${stderr}`));
    });
  });
}

// A raw WebSocket client that buffers what it receives.
class Client {
  constructor(ws) {
    this.ws = ws;
    this.inbox = [];
    this.waiters = [];
    this.closeCode = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
        this._wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      this.inbox.push({ data: Buffer.from(data), isBinary });
      this._wake();
    });
    ws.on('error', () => {});
  }

  static open(url, { protocols } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      const c = new Client(ws);
      ws.on('open', () => resolve(c));
      ws.on('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.on('error', (e) => reject(e));
    });
  }

  // Connects as a peer and returns the client; the first message (OPEN or an
  // error) is left in the inbox.
  static peer(server, { id, token = 'tok', key = 'peerjs', path = '/', extra = '', protocols } = {}) {
    const q = new URLSearchParams();
    if (key !== null) q.set('key', key);
    if (id !== null && id !== undefined) q.set('id', id);
    if (token !== null) q.set('token', token);
    return Client.open(`${server.ws}${path}peerjs?${q}${extra}`, { protocols });
  }

  _wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  // The next message (raw), or throws after `ms`.
  async nextRaw(ms = 3000) {
    const deadline = Date.now() + ms * SLACK;
    while (this.inbox.length === 0) {
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.inbox.shift();
  }

  async next(ms) {
    const m = await this.nextRaw(ms);
    return JSON.parse(m.data.toString('utf8'));
  }

  async nextText(ms) {
    return (await this.nextRaw(ms)).data.toString('utf8');
  }

  // Asserts nothing arrives for `ms`.
  async quiet(ms = 300) {
    await new Promise((r) => setTimeout(r, ms));
    if (this.inbox.length) throw new Error(`unexpected message: ${this.inbox[0].data}`);
  }

  send(msg, binary = false) {
    const data = typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg);
    this.ws.send(data, { binary });
  }

  isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

// GET url -> {status, headers, body}.
function get(url, headers = {}, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { startWsig, Client, get, sleep, SLACK, SANITIZE };
