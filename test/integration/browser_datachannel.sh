# Coupled tasks between browser members over WebRTC DataChannels: a K=2
# ring campaign on two Web Workers of one page goes over DataChannels that
# the page opens with wsig as the signalling server (no relay frame), with
# outputs equal to filter mode; with ?datachannel=fail no channel opens and
# the same campaign completes over wsig's relay.
. "$(dirname "$0")/browser/env.sh"
for f in kernels/ring.wasm www/kernel_worker.js www/datachannel.js; do
  [ -e "$W_BUILD/$f" ] || { echo "FAIL: $W_BUILD/$f is missing: rebuild with emscripten" >&2; exit 1; }
done
run_node datachannel.test.js 240
