# Sourced by test/integration/wsig_*.sh: node and the npm packages the tests
# use (installed by `npm ci --prefix test/node`, the deps step).
set -euo pipefail
: "${W_BIN:?W_BIN must point at build/bin}"
: "${W_SRC:?W_SRC must point at the source root}"
export W_BIN W_SRC W_SANITIZE="${W_SANITIZE:-0}"
command -v node >/dev/null || { echo "FAIL: node is not installed" >&2; exit 1; }
export NODE_PATH="$W_SRC/test/node/node_modules"
[ -d "$NODE_PATH/ws" ] || { echo "FAIL: $NODE_PATH lacks ws: run 'npm ci --prefix test/node'" >&2; exit 1; }
# run_node SCRIPT LIMIT_S: one node test file, bounded in time.
run_node() {
  timeout --kill-after=10 "$2" node "$W_SRC/test/integration/wsig/$1"
}
