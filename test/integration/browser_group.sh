# Coupled tasks with browser members: a K=4 ring campaign over a real wsig,
# wpool serve --sig, the volunteer page with 2 Web Workers and a native
# wrun -j 2 completes with outputs equal to filter-mode wrun --group 4.
. "$(dirname "$0")/browser/env.sh"
for f in kernels/ring.wasm www/kernel_worker.js; do
  [ -e "$W_BUILD/$f" ] || { echo "FAIL: $W_BUILD/$f is missing: rebuild with emscripten" >&2; exit 1; }
done
run_node group.test.js 240
