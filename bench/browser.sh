#!/usr/bin/env bash
# The browser worker's figures, in headless Chromium: primes in wasm vs the
# native .so (kernel time only; target >= 0.5x), page load to first result
# (target < 500 ms on loopback), no-op tasks/s per Web Worker, and what a
# volunteer downloads, gzip'd.
# Usage: bench/browser.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(cd "${1:-build}" && pwd)
export W_BIN=$B/bin W_BUILD=$B W_KERNELS=$B/kernels W_SRC=$PWD
export NODE_PATH=$PWD/test/node/node_modules
for f in www/wrun.wasm kernels/primes.wasm; do
  [ -e "$B/$f" ] || { echo "bench/browser: error: $B/$f is missing (install emscripten, rebuild)" >&2; exit 1; }
done
export W_WASM_OPT=$(grep -o 'W_WASM_OPT:STRING=.*' "$B/CMakeCache.txt" | cut -d= -f2)
timeout 300 node bench/browser.js
size() { gzip -9c "$@" | wc -c; }
total=$(cat "$B"/www/{wrun.js,wrun.wasm,worker.js,wkit_host.js,kernel.js,index.html,volunteer.js,style.css} "$B/kernels/divisible.wasm" | gzip -9c | wc -c)
echo "download, gzip -9: wrun.wasm $(size "$B/www/wrun.wasm") B, wrun.js $(size "$B/www/wrun.js") B," \
  "divisible.wasm $(size "$B/kernels/divisible.wasm") B; page + worker + kernel in all $total B"
