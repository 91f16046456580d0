#!/usr/bin/env bash
# Coupled tasks (issue 7): w_send/w_recv between two native members on this
# machine, beside the same exchange over a plain UNIX socketpair.
#   1. round-trip latency: ping-pong of SIZE-byte messages, N round trips
#   2. bandwidth: STREAM_N messages of STREAM_SIZE bytes one way, one ack back
# (a) both members in one `wrun --group 2 -j 2` (routed by that wrun process),
# (b) members on two `wrun -j 1` of a real `wpool serve --sig`, every message
#     through a real wsig's relay,
# baseline: bench/pingpong_socket, two processes and a socketpair.
# Each figure is the best of REPS runs (one task per run, bench/pingpong.c).
# Usage: bench/coupled.sh [BUILD_DIR]  (env: N SIZE STREAM_N STREAM_SIZE RELAY_N
#   RELAY_STREAM_N REPS, WSIG_ARGS e.g. "--relay-window 4096")
set -euo pipefail
B=${1:-build}
BIN=$B/bin K=$B/kernels
N=${N:-10000} SIZE=${SIZE:-64}
STREAM_N=${STREAM_N:-200} STREAM_SIZE=${STREAM_SIZE:-1048576}
RELAY_N=${RELAY_N:-2000} RELAY_STREAM_N=${RELAY_STREAM_N:-50}
REPS=${REPS:-3}
. "$(dirname "$0")/common.sh"
tmp=$work

load() { cut -d' ' -f1-3 /proc/loadavg; }
# inputs N STREAM_N: REPS task inputs
inputs() {
  local i
  for i in $(seq 1 "$REPS"); do
    echo "{\"n\":$1,\"size\":$SIZE,\"stream_n\":$2,\"stream_size\":$STREAM_SIZE,\"rep\":$i}"
  done
}
# best FILE: "rtt_ms mb_s" of the best runs in FILE (JSON lines of
# {rtt_ms, stream_mb_s})
best() { jq -rs '"\(map(.rtt_ms) | min) \(map(.stream_mb_s) | max)"' "$1"; }

load0=$(load)

# Baseline: a socketpair between two plain processes.
for _ in $(seq 1 "$REPS"); do
  "$B/bench/pingpong_socket" "$N" "$SIZE" "$STREAM_N" "$STREAM_SIZE"
done >"$tmp/socket.jsonl"
read -r s_rtt s_mbs < <(best "$tmp/socket.jsonl")

# (a) One wrun, both members on its two slots.
inputs "$N" "$STREAM_N" | "$BIN/wrun" -k "$K/pingpong.so" --group 2 -j 2 -q >"$tmp/local.out"
jq -c '.output[0] // error("task failed: \(.)")' "$tmp/local.out" >"$tmp/local.jsonl"
read -r l_rtt l_mbs < <(best "$tmp/local.jsonl")

# (b) Two wrun -j 1 of one pool: the members can only meet through wsig.
"$BIN/wsig" -p 0 -H 127.0.0.1 ${WSIG_ARGS:-} 2>"$tmp/wsig.log" &
pids+=("$!")
sig_port=$(listening_port "$tmp/wsig.log")
"$BIN/wpool" serve --db "$tmp/pool.db" --listen 127.0.0.1:0 --sig "ws://127.0.0.1:$sig_port/" \
  2>"$tmp/pool.log" &
pids+=("$!")
export W_POOL=ws://127.0.0.1:$(listening_port "$tmp/pool.log")
for w in a b; do
  "$BIN/wrun" "$W_POOL" --name "$w" --cache "$tmp/cache-$w" -j 1 2>"$tmp/worker-$w.log" &
  pids+=("$!")
done
for _ in $(seq 1 200); do
  [ "$("$BIN/wpool" workers --json 2>/dev/null | jq '[.[] | select(.connected)] | length' 2>/dev/null)" = 2 ] && break
  sleep 0.05
done
inputs "$RELAY_N" "$RELAY_STREAM_N" |
  "$BIN/wpool" submit coupled --kernel "$K/pingpong.so" --group 2 --timeout 300s -q
timeout 900 "$BIN/wpool" wait coupled --timeout 890s >/dev/null
"$BIN/wpool" results coupled >"$tmp/relay.out"
jq -c '.output[0] // error("task failed: \(.)")' "$tmp/relay.out" >"$tmp/relay.jsonl"
[ "$(wc -l <"$tmp/relay.jsonl")" -eq "$REPS" ] || { echo "relay: $(cat "$tmp/relay.out")" >&2; exit 1; }
read -r r_rtt r_mbs < <(best "$tmp/relay.jsonl")
frames=$(curl -sf "http://127.0.0.1:$sig_port/metrics" | awk '/^wsig_relay_frames_total/ {print $2}')
[ "${frames:-0}" -gt 0 ] || { echo "nothing went through wsig's relay" >&2; exit 1; }

load1=$(load)
kib=$((STREAM_SIZE / 1024))
printf 'load average before: %s, after: %s (shared machine: figures are rough)\n' "$load0" "$load1"
printf '%-60s %12s %12s %10s\n' "figure (best of $REPS)" "wkit" "socketpair" "wkit/base"
printf '%-60s %12.4f %12.4f %10.1f\n' "round trip, $SIZE B, one wrun -j 2 (ms, $N)" "$l_rtt" "$s_rtt" \
  "$(echo "$l_rtt / $s_rtt" | bc -l)"
printf '%-60s %12.4f %12.4f %10.1f\n' "round trip, $SIZE B, 2 wrun via wsig relay (ms, $RELAY_N)" \
  "$r_rtt" "$s_rtt" "$(echo "$r_rtt / $s_rtt" | bc -l)"
printf '%-60s %12.0f %12.0f %10.3f\n' "stream, $kib KiB msgs, one wrun -j 2 (MB/s, $STREAM_N)" \
  "$l_mbs" "$s_mbs" "$(echo "$l_mbs / $s_mbs" | bc -l)"
printf '%-60s %12.0f %12.0f %10.3f\n' "stream, $kib KiB msgs, 2 wrun via wsig relay (MB/s, $RELAY_STREAM_N)" \
  "$r_mbs" "$s_mbs" "$(echo "$r_mbs / $s_mbs" | bc -l)"
echo "relay frames through wsig: $frames"
echo "reference, the paper's Table 2 (node.js on an i5): 0.005 ms/msg, ~140 MB/s"
