// Debian's Firefox ESR driven over WebDriver BiDi, which it speaks itself:
// playwright-core drives only its own patched Firefox builds (and its BiDi
// mode needs commands ESR lacks), so this is the little the tests need.
// Resolves {goto(url), evaluate(expr) (the value, JSON-copied), close()}.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');

const FIREFOX = process.env.W_FIREFOX || '/usr/bin/firefox-esr';

async function launchFirefox() {
  if (!fs.existsSync(FIREFOX)) throw new Error(`${FIREFOX} is missing: apt-get install firefox-esr`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wkit-firefox-'));
  const proc = spawn(FIREFOX, ['--headless', '--no-remote', '--profile', profile,
    '--remote-debugging-port=0', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Firefox did not start in 30 s: ' + stderr)), 30000);
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) clearTimeout(timer), resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`Firefox exited (${code}): ${stderr}`)));
  });
  const ws = new WebSocket(url + '/session');
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  let next = 1;
  const waiting = new Map();
  ws.on('message', (data) => {
    const m = JSON.parse(data);
    const w = m.id && waiting.get(m.id);
    if (!w) return;  // events: none subscribed
    waiting.delete(m.id);
    if (m.type === 'error') w.reject(new Error(`${m.error}: ${m.message}`));
    else w.resolve(m.result);
  });
  const send = (method, params) => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send('session.new', { capabilities: {} });
  const context = (await send('browsingContext.getTree', {})).contexts[0].context;
  return {
    version: () => /Firefox\/(\S+)/.exec(stderr)?.[1],
    goto: (to) => send('browsingContext.navigate', { context, url: to, wait: 'complete' }),
    async evaluate(expression) {
      const r = await send('script.evaluate', {
        expression: `JSON.stringify(${expression})`, target: { context }, awaitPromise: true });
      if (r.type === 'exception') throw new Error('in Firefox: ' + r.exceptionDetails.text);
      return r.result.value === undefined ? undefined : JSON.parse(r.result.value);
    },
    async close() {
      await send('session.end', {}).catch(() => {});
      ws.close();
      proc.kill();
      await new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.on('exit', resolve)));
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

module.exports = { launchFirefox };
