#!/usr/bin/env bash
# Coupled tasks (issue 7): w_send/w_recv between two native members on this
# machine, beside the same exchange over a plain UNIX socketpair.
#   1. round-trip latency: ping-pong of SIZE-byte messages, N round trips
#   2. bandwidth: STREAM_N messages of STREAM_SIZE bytes one way, one ack back
# (a) both members in one `wrun --group 2 -j 2` (routed by that wrun process),
# (b) members on two `wrun -j 1` of a real `wpool serve --sig`, linked
#     directly over TCP once they met through wsig (--link auto),
# (c) the same two with --link off: every message through a real wsig's relay,
# baselines: bench/pingpong_socket, two processes and a socketpair, and the
# same over loopback TCP (the floor of (b)).
# The last line is for scripts:
#   coupled: direct rtt_ms=R tcp_rtt_ms=T rtt_ratio=R/T stream_MBps=S tcp_MBps=P stream_ratio=S/P relay_MBps=Q
# Each figure is the best of REPS runs (one task per run, bench/pingpong.c).
# With 2 cores or more, (b), (c) and the TCP floor run on the same two cores,
# one side on each (the two wrun under taskset, pingpong_socket's processes
# pinned): left alone, the scheduler sometimes puts the floor's two processes
# on one core, where a round trip costs 0.006 ms instead of 0.07 ms, a
# placement two members of two workers cannot count on.
# Usage: bench/coupled.sh [BUILD_DIR]  (env: N SIZE STREAM_N STREAM_SIZE RELAY_N
#   RELAY_STREAM_N REPS, WSIG_ARGS e.g. "--relay-window 1024 --send-queue 4096",
#   PIN=0: no pinning)
set -euo pipefail
B=${1:-build}
BIN=$B/bin K=$B/kernels
N=${N:-10000} SIZE=${SIZE:-64}
STREAM_N=${STREAM_N:-200} STREAM_SIZE=${STREAM_SIZE:-1048576}
RELAY_N=${RELAY_N:-2000} RELAY_STREAM_N=${RELAY_STREAM_N:-50}
REPS=${REPS:-3}
PIN=${PIN:-1}
[ "$(nproc)" -ge 2 ] || PIN=0
# pin CORE: the command prefix that runs a process on that core (none without pinning).
pin() { if [ "$PIN" = 1 ]; then echo "taskset -c $1"; fi; }
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

# (b) Two wrun -j 1 of one pool: the members meet through wsig, then link
# directly over TCP (wrun --link auto); (c) the same with --link off, so
# every message goes through wsig's relay.
"$BIN/wsig" -p 0 -H 127.0.0.1 ${WSIG_ARGS:-} 2>"$tmp/wsig.log" &
pids+=("$!")
sig_port=$(listening_port "$tmp/wsig.log")
"$BIN/wpool" serve --db "$tmp/pool.db" --listen 127.0.0.1:0 --sig "ws://127.0.0.1:$sig_port/" \
  2>"$tmp/pool.log" &
pids+=("$!")
export W_POOL=ws://127.0.0.1:$(listening_port "$tmp/pool.log")
relay_bytes() { curl -sf "http://127.0.0.1:$sig_port/metrics" | awk '/^wsig_relay_bytes_total/ {print $2}'; }
# pool_pair NAME LINK N STREAM_N: runs REPS tasks on two fresh wrun -j 1 with
# --link LINK; the outputs in $tmp/NAME.jsonl, the bytes wsig relayed in $tmp/NAME.relayed.
pool_pair() {
  local w before wpids=()
  local core=0
  for w in a b; do
    # shellcheck disable=SC2046 # the prefix is words on purpose
    $(pin "$core") "$BIN/wrun" "$W_POOL" --name "$1-$w" --cache "$tmp/cache-$w" -j 1 --link "$2" \
      2>"$tmp/worker-$1-$w.log" &
    core=1
    wpids+=("$!")
    pids+=("$!") # stopped at exit too if the run fails half way
  done
  for _ in $(seq 1 200); do
    [ "$("$BIN/wpool" workers --json 2>/dev/null | jq '[.[] | select(.connected)] | length' 2>/dev/null)" = 2 ] && break
    sleep 0.05
  done
  before=$(relay_bytes)
  inputs "$3" "$4" | "$BIN/wpool" submit "$1" --kernel "$K/pingpong.so" --group 2 --timeout 300s -q
  timeout 900 "$BIN/wpool" wait "$1" --timeout 890s >/dev/null
  "$BIN/wpool" results "$1" >"$tmp/$1.out"
  jq -c '.output[0] // error("task failed: \(.)")' "$tmp/$1.out" >"$tmp/$1.jsonl"
  [ "$(wc -l <"$tmp/$1.jsonl")" -eq "$REPS" ] || { echo "$1: $(cat "$tmp/$1.out")" >&2; exit 1; }
  echo $(($(relay_bytes) - before)) >"$tmp/$1.relayed"
  kill "${wpids[@]}"
  wait "${wpids[@]}" 2>/dev/null || true
  for _ in $(seq 1 200); do
    [ "$("$BIN/wpool" workers --json 2>/dev/null | jq '[.[] | select(.connected)] | length' 2>/dev/null)" = 0 ] && break
    sleep 0.05
  done
}
pool_pair direct auto "$N" "$STREAM_N"
read -r d_rtt d_mbs < <(best "$tmp/direct.jsonl")
grep -q "direct link up" "$tmp/worker-direct-a.log" "$tmp/worker-direct-b.log" ||
  { echo "no direct link opened: $(cat "$tmp"/worker-direct-*.log)" >&2; exit 1; }
pool_pair relay off "$RELAY_N" "$RELAY_STREAM_N"
read -r r_rtt r_mbs < <(best "$tmp/relay.jsonl")
relayed=$(cat "$tmp/relay.relayed")
[ "$relayed" -gt $((RELAY_STREAM_N * STREAM_SIZE)) ] || { echo "the relay run did not go through wsig's relay" >&2; exit 1; }

# The floor of the direct links: the same exchange over loopback TCP.
for _ in $(seq 1 "$REPS"); do
  if [ "$PIN" = 1 ]; then
    "$B/bench/pingpong_socket" "$N" "$SIZE" "$STREAM_N" "$STREAM_SIZE" tcp 0 1
  else
    "$B/bench/pingpong_socket" "$N" "$SIZE" "$STREAM_N" "$STREAM_SIZE" tcp
  fi
done >"$tmp/tcp.jsonl"
read -r t_rtt t_mbs < <(best "$tmp/tcp.jsonl")

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
printf '%-60s %12s %12s %10s\n' "direct links vs plain TCP (best of $REPS$([ "$PIN" = 1 ] && echo ', one side per core'))" \
  "direct" "loopback TCP" "ratio"
printf '%-60s %12.4f %12.4f %10.2f\n' "round trip, $SIZE B, 2 wrun linked directly (ms, $N)" \
  "$d_rtt" "$t_rtt" "$(echo "$d_rtt / $t_rtt" | bc -l)"
printf '%-60s %12.0f %12.0f %10.3f\n' "stream, $kib KiB msgs, 2 wrun linked directly (MB/s, $STREAM_N)" \
  "$d_mbs" "$t_mbs" "$(echo "$d_mbs / $t_mbs" | bc -l)"
echo "bytes through wsig's relay: direct run $(cat "$tmp/direct.relayed"), relay run $relayed"
echo "reference, the paper's Table 2 (node.js on an i5): 0.005 ms/msg, ~140 MB/s"
printf 'coupled: direct rtt_ms=%.4f tcp_rtt_ms=%.4f rtt_ratio=%.2f stream_MBps=%.0f tcp_MBps=%.0f stream_ratio=%.3f relay_MBps=%.0f\n' \
  "$d_rtt" "$t_rtt" "$(echo "$d_rtt / $t_rtt" | bc -l)" "$d_mbs" "$t_mbs" "$(echo "$d_mbs / $t_mbs" | bc -l)" "$r_mbs"
