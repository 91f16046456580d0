// kernel.js — runs one wkit kernel (a standalone .wasm, see w_kernel(3))
// inside the current Web Worker, or under node for tests.
//
// A kernel module has its own memory and libc; it exports the ABI (w_init,
// w_main), malloc/free, and the w_host_out_* accessors linked in by the
// build, so this file never hard-codes w_out's layout. Bytes are copied
// into the kernel's memory for each call and the result copied out.
//
// A member of a coupled task (run(input, {rank, size})) calls w_send,
// w_recv and w_barrier through the imports of module "wkit"; they go to the
// `host` given to the constructor, whose functions block this thread until
// they have an answer (see kernel_worker.js).
//
// A trap (unreachable, out-of-bounds access, stack overflow) leaves the
// instance in an unknown state: run() reports the trap as the task's error
// and the next call gets a fresh instance of the same compiled module, with
// w_init run again, as a native slot process would be restarted.
//
// Memory cap (the volunteer page's ?memory=MB, as wrun --memory): a kernel
// module declares its own memory, so the cap is put in the module before it
// is compiled (Kernel.limitMemory lowers the declared maximum to twice the
// cap: no grow, however the kernel makes it, goes beyond that), and the
// growth notice every Emscripten libc sends after a grow (the import
// emscripten_notify_memory_growth) fails the task with "out of memory" as
// soon as the memory is past the cap. The headroom between the two is what
// lets a grow past the cap succeed and be seen: at the exact maximum, a
// grow would fail quietly and malloc return NULL, which a kernel like
// membomb.c writes through (in wasm, address 0 is valid memory) and goes on.
'use strict';

(function (root) {
  // WASI and Emscripten imports a standalone module may name. Kernels are
  // compute only: writes are swallowed, clocks read (as clock_gettime works
  // in a native slot), everything else reports ENOSYS.
  const ENOSYS = 52;
  const W_ERANK = -3;
  function makeImports(module, kernel) {
    const imports = {};
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.kind !== 'function') continue;
      imports[imp.module] = imports[imp.module] || {};
      let fn = () => ENOSYS;
      if (imp.name === 'proc_exit') {
        fn = (code) => { throw new KernelExit(code); };
      } else if (imp.name === 'emscripten_notify_memory_growth') {
        fn = () => kernel.checkMemory();
      } else if (imp.name === 'abort') {
        fn = () => { throw new WebAssembly.RuntimeError('abort() called'); };
      } else if (imp.name === 'clock_time_get') {
        fn = clockImport(kernel);
      } else if (imp.module === 'wkit') {
        fn = groupImport(imp.name, kernel);
      }
      imports[imp.module][imp.name] = fn;
    }
    return imports;
  }

  // WASI clock_time_get(id, precision, *time): nanoseconds, realtime (0)
  // from the epoch, the others from the page's time origin.
  function clockImport(kernel) {
    return (id, precision, p) => {
      const ms = id === 0 ? performance.timeOrigin + performance.now() : performance.now();
      new DataView(kernel.live.exports.memory.buffer).setBigUint64(p, BigInt(Math.round(ms * 1e6)), true);
      return 0;
    };
  }

  // wkit_send(out, to, bytes, n), wkit_recv(out, from, buffer, cap, timeout_ms),
  // wkit_barrier(out, timeout_ms): copied across the kernel's memory.
  function groupImport(name, kernel) {
    const memory = () => new Uint8Array(kernel.live.exports.memory.buffer);
    if (name === 'wkit_send')
      return (out, to, p, n) => (kernel.host ? kernel.host.send(to, memory().slice(p, p + n)) : W_ERANK);
    if (name === 'wkit_recv')
      return (out, from, p, cap, timeout) => {
        if (!kernel.host) return W_ERANK;
        const r = kernel.host.recv(from, timeout);
        if (typeof r === 'number') return r;
        memory().set(r.length > cap ? r.subarray(0, cap) : r, p);
        return r.length;
      };
    if (name === 'wkit_barrier')
      return (out, timeout) => (kernel.host ? kernel.host.barrier(timeout) : W_ERANK);
    return () => ENOSYS;
  }

  class KernelExit extends Error {
    constructor(code) {
      super('kernel called exit(' + code + ')');
    }
  }

  // Thrown from the growth notice: unwinds the kernel like a trap.
  class KernelOutOfMemory extends Error {}

  const PAGE = 65536;  // bytes in a WebAssembly page
  const MAX_PAGES = 65536;  // 4 GiB, all a 32-bit memory can address

  // Unsigned LEB128 at bytes[at]: [value, next offset].
  function readLeb(bytes, at) {
    let value = 0, shift = 0, b;
    do {
      if (at >= bytes.length || shift > 28) throw new Error('kernel module is malformed');
      b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return [value, at];
  }

  function leb(value) {
    const out = [];
    do {
      let b = value % 128;
      value = Math.floor(value / 128);
      if (value) b |= 0x80;
      out.push(b);
    } while (value);
    return out;
  }

  class Kernel {
    /// code: the .wasm bytes or an already compiled WebAssembly.Module;
    /// staticData: Uint8Array of msgpack or null; host: {send(to, bytes),
    /// recv(from, timeout_ms) -> Uint8Array or a W_E* code, barrier(timeout_ms)}
    /// for members of coupled tasks, or absent; memoryMB: the memory cap
    /// (0 or absent: none; bytes are capped here too, a compiled module
    /// should come from limitMemory). Compiling synchronously is allowed
    /// off the page's thread.
    constructor(code, staticData, host, memoryMB) {
      this.memoryCap = memoryMB > 0 ? memoryMB * 1048576 : 0;
      this.module = code instanceof WebAssembly.Module ? code :
        new WebAssembly.Module(this.memoryCap ? Kernel.limitMemory(code, memoryMB) : code);
      this.staticData = staticData && staticData.length ? staticData : null;
      this.instance = null;
      this.host = host || null;
      const names = WebAssembly.Module.exports(this.module).map((e) => e.name);
      for (const need of ['w_main', 'malloc', 'free', 'w_host_out_new'])
        if (!names.includes(need)) throw new Error('kernel module does not export ' + need);
    }

    /// Instantiates (again) and runs w_init; throws with the reason.
    start() {
      this.instance = null;
      const instance = new WebAssembly.Instance(this.module, makeImports(this.module, this));
      this.live = instance;  // the wkit imports reach its memory through it
      const x = instance.exports;
      if (x._initialize) x._initialize();
      this.out = x.w_host_out_new();
      if (!this.out) throw new Error('kernel: out of memory');
      if (x.w_init) {
        const n = this.staticData ? this.staticData.length : 0;
        const p = n ? this.copyIn(x, this.staticData) : 0;
        const rc = x.w_init(p, n);
        if (p) x.free(p);
        if (rc !== 0) throw new Error('w_init failed with status ' + rc);
      }
      this.instance = instance;
    }

    /// A copy of the module's bytes whose memory may grow to 2 x memoryMB
    /// at most; throws if the module needs more than memoryMB at start, or
    /// declares a memory this cannot cap (a 64-bit one).
    static limitMemory(bytes, memoryMB) {
      bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
      if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 ||
          bytes[3] !== 0x6d) throw new Error('kernel module is not WebAssembly');
      const capPages = Math.max(1, Math.floor(memoryMB * 1048576 / PAGE));
      for (let at = 8; at < bytes.length;) {
        const id = bytes[at];
        const [size, body] = readLeb(bytes, at + 1);
        const end = body + size;
        if (end > bytes.length) throw new Error('kernel module is malformed');
        if (id !== 5) {
          at = end;
          continue;
        }
        // The memory section: a vector of limits {flags, min, max?}.
        let [count, p] = readLeb(bytes, body);
        const content = leb(count);
        for (; count > 0; count--) {
          const flags = bytes[p++];
          if (flags & ~3) throw new Error('kernel declares a memory this browser cannot cap');
          let min, max = MAX_PAGES;
          [min, p] = readLeb(bytes, p);
          if (flags & 1) [max, p] = readLeb(bytes, p);
          if (min > capPages)
            throw new Error(`kernel needs ${Math.ceil(min * PAGE / 1048576)} MB at start, ` +
              `more than its cap of ${memoryMB} MB`);
          content.push(flags | 1, ...leb(min), ...leb(Math.min(max, 2 * capPages, MAX_PAGES)));
        }
        if (p !== end) throw new Error('kernel module is malformed');
        const head = [5, ...leb(content.length)];
        const out = new Uint8Array(at + head.length + content.length + bytes.length - end);
        out.set(bytes.subarray(0, at));
        out.set(head, at);
        out.set(content, at + head.length);
        out.set(bytes.subarray(end), at + head.length + content.length);
        return out;
      }
      return bytes;  // no memory of its own (an imported one is refused at instantiation)
    }

    /// The growth notice: past the cap, the task fails (REQUIRES: a live instance).
    checkMemory() {
      const bytes = this.live.exports.memory.buffer.byteLength;
      if (this.memoryCap && bytes > this.memoryCap)
        throw new KernelOutOfMemory(`out of memory: the kernel's memory grew to ` +
          `${Math.ceil(bytes / 1048576)} MB, past its cap of ${this.memoryCap / 1048576} MB`);
    }

    copyIn(x, bytes) {
      const p = x.malloc(Math.max(1, bytes.length));
      if (!p) throw new Error('kernel: out of memory for the input');
      new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
      return p;
    }

    /// Runs one dataset (msgpack bytes); group: {rank, size} for a member of
    /// a coupled task. Returns {output: Uint8Array} or {error: string};
    /// never throws for the kernel's faults.
    run(input, group) {
      try {
        if (!this.instance) this.start();
      } catch (e) {
        this.instance = null;
        return { error: 'kernel failed to start: ' + describe(e) };
      }
      const x = this.instance.exports;
      if (group && !x.w_host_out_group)
        return { error: 'this kernel was built without coupled tasks: rebuild it' };
      try {
        if (group) x.w_host_out_group(this.out, group.rank, group.size);
        const p = this.copyIn(x, input);
        const rc = x.w_main(p, input.length, this.out);
        x.free(p);
        let result;
        if (rc !== 0) {
          const e = x.w_host_out_error(this.out);
          result = { error: e ? cString(x.memory.buffer, e) : 'w_main returned ' + rc };
        } else {
          const data = x.w_host_out_data(this.out);
          const size = x.w_host_out_size(this.out);
          result = { output: new Uint8Array(x.memory.buffer, data, size).slice() };
        }
        x.w_host_out_reset(this.out);
        return result;
      } catch (e) {
        this.instance = null;  // a fresh instance for the next task
        return { error: describe(e) };
      }
    }
  }

  function describe(e) {
    if (e instanceof WebAssembly.RuntimeError) return 'kernel trapped: ' + e.message;
    if (e instanceof RangeError && /memory|allocation/i.test(e.message))
      return 'out of memory: ' + e.message;  // the browser refused a grow or a copy
    return e && e.message ? e.message : String(e);
  }

  function cString(buffer, p) {
    const bytes = new Uint8Array(buffer);
    let end = p;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return new TextDecoder().decode(bytes.subarray(p, end));
  }

  root.WKernel = Kernel;
  if (typeof module !== 'undefined' && module.exports) module.exports = Kernel;
})(typeof self !== 'undefined' ? self : globalThis);
