#!/usr/bin/env bash
# Coupled tasks (issue 7) between two browser workers: w_send/w_recv
# round-trip latency and bandwidth of bench/pingpong.c's --group 2 kernel
# with both members on two Web Workers of one headless-Chromium page, with a
# real wsig and a real `wpool serve --sig`:
#   (a) over WebRTC DataChannels (wsig only signals),
#   (b) with ?datachannel=fail: no channel opens, every message goes through
#       wsig's relay,
#   (c) the floor: a DataChannel between two RTCPeerConnections of one page,
#       no wkit at all (what the browser's SCTP stack moves),
# beside the same kernel on the two slots of one native `wrun --group 2 -j 2`.
# Each figure is the best of REPS runs (one task per run). Skips (exit 0)
# when the build has no pingpong.wasm / browser worker, or chromium, node or
# playwright-core are missing.
# Usage: bench/coupled_browser.sh [BUILD_DIR]  (env: N SIZE STREAM_N
#   STREAM_SIZE REPS; NATIVE_N NATIVE_STREAM_N for the native case)
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(cd "${1:-build}" && pwd)
export W_BIN=$B/bin W_BUILD=$B W_KERNELS=$B/kernels W_SRC=$PWD
export NODE_PATH=$PWD/test/node/node_modules
export N=${N:-2000} SIZE=${SIZE:-64} STREAM_N=${STREAM_N:-50}
export STREAM_SIZE=${STREAM_SIZE:-1048576} REPS=${REPS:-3}
NATIVE_N=${NATIVE_N:-10000} NATIVE_STREAM_N=${NATIVE_STREAM_N:-200}
chromium=${W_CHROMIUM:-/usr/bin/chromium}
skip() { echo "bench/coupled_browser: skipped: $*"; exit 0; }
for f in kernels/pingpong.wasm www/wrun.wasm www/kernel_worker.js www/datachannel.js; do
  [ -e "$B/$f" ] || skip "$B/$f is missing (install emscripten, rebuild)"
done
[ -x "$chromium" ] || skip "$chromium is missing (apt-get install chromium)"
command -v node >/dev/null || skip "node is missing"
[ -d "$NODE_PATH/playwright-core" ] || skip "run 'npm ci --prefix test/node'"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

load0=$(load)
# Native: both members on the two slots of one wrun (bench/coupled.sh's (a)).
for i in $(seq 1 "$REPS"); do
  echo "{\"n\":$NATIVE_N,\"size\":$SIZE,\"stream_n\":$NATIVE_STREAM_N,\"stream_size\":$STREAM_SIZE,\"rep\":$i}"
done | timeout 300 "$B/bin/wrun" -k "$B/kernels/pingpong.so" --group 2 -j 2 -q |
  jq -c '.output[0] // error("task failed: \(.)")' >"$tmp/native.jsonl"
read -r n_rtt n_mbs < <(jq -rs '"\(map(.rtt_ms) | min) \(map(.stream_mb_s) | max)"' "$tmp/native.jsonl")

timeout --kill-after=10 400 node bench/coupled_browser.js >"$tmp/browser.jsonl"
load1=$(load)
fig() { jq -r "select(.case == \"$1\") | .$2" "$tmp/browser.jsonl"; }
[ "$(fig datachannel relay_frames)" = 0 ] || echo "warning: the DataChannel case sent $(fig datachannel relay_frames) relay frames" >&2
[ "$(fig relay relay_frames)" -gt 0 ] || { echo "bench/coupled_browser: nothing went through wsig's relay" >&2; exit 1; }

kib=$((STREAM_SIZE / 1024))
printf 'load average before: %s, after: %s (shared machine: figures are rough)\n' "$load0" "$load1"
printf '%-66s %12s\n' "figure (best of $REPS)" "value"
printf '%-66s %12.4f\n' "round trip, $SIZE B, 2 Web Workers over DataChannels (ms, $N)" "$(fig datachannel rtt_ms)"
printf '%-66s %12.4f\n' "round trip, $SIZE B, 2 Web Workers via wsig relay (ms, $N)" "$(fig relay rtt_ms)"
printf '%-66s %12.4f\n' "round trip, $SIZE B, one native wrun -j 2 (ms, $NATIVE_N)" "$n_rtt"
printf '%-66s %12.1f\n' "stream, $kib KiB msgs, 2 Web Workers over DataChannels (MB/s, $STREAM_N)" \
  "$(fig datachannel stream_mb_s)"
printf '%-66s %12.1f\n' "stream, $kib KiB msgs, 2 Web Workers via wsig relay (MB/s, $STREAM_N)" \
  "$(fig relay stream_mb_s)"
printf '%-66s %12.1f\n' "stream, $kib KiB msgs, one native wrun -j 2 (MB/s, $NATIVE_STREAM_N)" "$n_mbs"
printf '%-66s %12.1f\n' "floor: a DataChannel between 2 RTCPeerConnections of one page (MB/s)" \
  "$(fig raw stream_mb_s)"
printf '%-66s %12.2f\n' "DataChannel stream, Web Workers / floor" \
  "$(echo "$(fig datachannel stream_mb_s) / $(fig raw stream_mb_s)" | bc -l)"
echo "DataChannel case: $(fig datachannel channels.opened) channels opened, $(fig datachannel channels.sent) messages" \
  "sent on them, $(fig datachannel relay_frames) relay frames; relay case: $(fig relay relay_frames) relay frames"
