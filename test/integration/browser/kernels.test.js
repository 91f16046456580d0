// Each example kernel's .wasm, run by www/kernel.js (the browser worker's
// kernel host) under node, gives byte for byte the output its .so gives
// under `wrun -k` in filter mode, for the same msgpack datasets.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib');
const Kernel = require(path.join(process.env.W_SRC, 'www/kernel.js'));

// Size of the msgpack object at buf[pos..] (enough of the format for wkit's streams).
function skip(buf, pos) {
  const b = buf[pos];
  const be = (n) => { let v = 0; for (let i = 1; i <= n; i++) v = v * 256 + buf[pos + i]; return v; };
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xc0 && b <= 0xc3)) return 1;
  if ((b & 0xe0) === 0xa0) return 1 + (b & 0x1f);
  const fixed = { 0xcc: 2, 0xcd: 3, 0xce: 5, 0xcf: 9, 0xd0: 2, 0xd1: 3, 0xd2: 5, 0xd3: 9,
    0xca: 5, 0xcb: 9, 0xd4: 3, 0xd5: 4, 0xd6: 6, 0xd7: 10, 0xd8: 18 };
  if (fixed[b]) return fixed[b];
  const sized = { 0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4 };
  if (sized[b]) return 1 + sized[b] + be(sized[b]);
  const ext = { 0xc7: 1, 0xc8: 2, 0xc9: 4 };
  if (ext[b]) return 2 + ext[b] + be(ext[b]);
  // Containers: a header, then n objects (a map's n counts keys and values).
  let header = 1, n;
  if ((b & 0xf0) === 0x90) n = b & 0x0f;
  else if ((b & 0xf0) === 0x80) n = 2 * (b & 0x0f);
  else if (b === 0xdc || b === 0xde) header = 3, n = be(2) * (b === 0xde ? 2 : 1);
  else if (b === 0xdd || b === 0xdf) header = 5, n = be(4) * (b === 0xdf ? 2 : 1);
  else throw new Error('bad msgpack byte ' + b);
  let p = pos + header;
  for (let i = 0; i < n; i++) p += skip(buf, p);
  return p - pos;
}

function split(buf) {
  const out = [];
  for (let p = 0; p < buf.length;) {
    const n = skip(buf, p);
    out.push(buf.subarray(p, p + n));
    p += n;
  }
  return out;
}

// The raw value of `key` in a map whose keys are fixstr.
function field(map, key) {
  const n = map[0] & 0x0f;  // wrun's records are fixmaps
  let p = 1;
  for (let i = 0; i < n; i++) {
    const klen = skip(map, p);
    const k = Buffer.from(map.subarray(p + 1, p + klen)).toString();
    p += klen;
    const vlen = skip(map, p);
    if (k === key) return map.subarray(p, p + vlen);
    p += vlen;
  }
  return null;
}

const cases = [
  ['divisible', ['range', '0', '20000', '--step', '250'], '{"divisor":123}',
    Buffer.from([0x81, 0xa7, ...Buffer.from('divisor'), 0x7b])],
  ['primes', ['range', '0', '200000', '--step', '5000'], null, null],
  ['pi', ['seeds', '8'], null, null],
];

for (const [name, gen, staticJson, staticBytes] of cases) {
  test(`${name}.wasm gives the bytes ${name}.so gives`, () => {
    const so = path.join(lib.KERNELS, name + '.so');
    const wasm = path.join(lib.KERNELS, name + '.wasm');
    const datasets = Buffer.from(require('node:child_process').execFileSync(
      path.join(lib.BIN, 'wgen'), [...gen, '-f', 'msgpack']));
    const args = ['-k', so, '-f', 'msgpack', '--keep-order', '-j', '2'];
    if (staticJson) args.push('--static', staticJson);
    const records = split(Buffer.from(require('node:child_process').execFileSync(
      path.join(lib.BIN, 'wrun'), args, { input: datasets, stdio: ['pipe', 'pipe', 'ignore'] })));
    const inputs = split(datasets);
    assert.equal(records.length, inputs.length);
    const kernel = new Kernel(fs.readFileSync(wasm), staticBytes);
    inputs.forEach((input, i) => {
      const r = kernel.run(input);
      assert.equal(r.error, undefined, `dataset ${i}: ${r.error}`);
      assert.deepEqual(Buffer.from(r.output), Buffer.from(field(records[i], 'output')),
        `dataset ${i} differs`);
    });
  });
}

// The memory cap (the volunteer page's ?memory=MB): the module's declared
// maximum becomes twice the cap, a grow past the cap fails the task with
// "out of memory" and the next task gets a fresh instance.
test('a kernel past its memory cap fails its task; the next one runs', () => {
  const bytes = fs.readFileSync(path.join(lib.KERNELS, 'membomb.wasm'));
  const memory = (code) => new WebAssembly.Instance(new WebAssembly.Module(code), {
    env: { emscripten_notify_memory_growth: () => {} },
    wkit: { wkit_send: () => 0, wkit_recv: () => 0, wkit_barrier: () => 0 },
  }).exports.memory;
  const capped = memory(Kernel.limitMemory(bytes, 64));
  assert.equal(capped.grow(0) * 65536, 16 << 20);  // its initial memory, unchanged
  assert.throws(() => capped.grow(2 * 1024 - 256 + 1), RangeError);  // beyond 128 MB
  capped.grow(2 * 1024 - 256);  // up to 128 MB
  assert.throws(() => Kernel.limitMemory(bytes, 8), /needs 16 MB at start, more than its cap of 8 MB/);

  const kernel = new Kernel(bytes, null, null, 64);
  const input = Buffer.from([0x81, 0xa1, 0x78, 0x01]);  // {"x":1}
  for (let i = 0; i < 2; i++)
    assert.match(kernel.run(input).error || '', /^out of memory: .* past its cap of 64 MB$/);
  const echo = new Kernel(fs.readFileSync(path.join(lib.KERNELS, 'echo.wasm')), null, null, 64);
  assert.deepEqual(Buffer.from(echo.run(input).output), input);
});
