# The volunteer page rates the browser with wbench.wasm in a Web Worker,
# shows the score, and its workers report it to the pool (wpool workers,
# /api/status, the dashboard).
. "$(dirname "$0")/browser/env.sh"
[ -e "$W_BUILD/www/wbench.wasm" ] || {
  echo "FAIL: $W_BUILD/www/wbench.wasm is missing: install emscripten (scripts/deps.sh) and rebuild" >&2
  exit 1
}
run_node wbench.test.js 120
