# The example kernels built as .wasm give, under node with the browser
# worker's kernel host (www/kernel.js), the same output bytes as their .so.
. "$(dirname "$0")/browser/env.sh"
run_node kernels.test.js 120
