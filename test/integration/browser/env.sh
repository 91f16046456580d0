# Sourced by test/integration/browser_*.sh: what the browser tests need, each
# missing piece a FAIL with the command that installs it (CI runs
# scripts/deps.sh, which installs them all).
set -euo pipefail
: "${W_BIN:?W_BIN must point at build/bin}"
: "${W_SRC:?W_SRC must point at the source root}"
W_BUILD=${W_BUILD:-$W_BIN/..}
W_KERNELS=${W_KERNELS:-$W_BUILD/kernels}
export W_BIN W_SRC W_BUILD W_KERNELS
command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/deps.sh)" >&2; exit 1; }
chromium=${W_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "FAIL: $chromium missing: apt-get install chromium" >&2; exit 1; }
export NODE_PATH="$W_SRC/test/node/node_modules"
[ -d "$NODE_PATH/playwright-core" ] || { echo "FAIL: run 'npm ci --prefix test/node'" >&2; exit 1; }
for f in www/wrun.js www/wrun.wasm www/index.html kernels/divisible.wasm; do
  [ -e "$W_BUILD/$f" ] || {
    echo "FAIL: $W_BUILD/$f is missing: install emscripten (scripts/deps.sh) and rebuild" >&2
    exit 1
  }
done
# run_node SCRIPT LIMIT_S: one node test file, bounded in time.
run_node() {
  timeout --kill-after=10 "$2" node --test-reporter=spec "$W_SRC/test/integration/browser/$1"
}
