#!/usr/bin/env bash
# wpool end to end, with 2 local workers:
#   1. no-op tasks/s from `wpool submit` to every result stored (durable)
#   2. 2,000 tasks of 10 ms: efficiency against the ideal 10 s
#   3. time from `wrun` start to its first result, the pool already up
# Usage: bench/pool.sh [BUILD_DIR]
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
export PATH="$B/bin:$PATH"
NOOP_N=${NOOP_N:-200000}
BUSY_N=${BUSY_N:-2000}
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }

start_pool() { # $1: db name
  : >"$work/pool.log"
  wpool serve --db "$work/$1" --listen 127.0.0.1:0 2>"$work/pool.log" &
  pids+=($!)
  POOL_PID=$!
  for _ in $(seq 1 100); do
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/pool.log" | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  export W_POOL=ws://127.0.0.1:$port
}
start_workers() {
  for i in 1 2; do
    wrun "$W_POOL" -j 1 --name "bench-$i" --cache "$work/cache" -q &
    pids+=($!)
  done
}

# 1. no-op throughput
start_pool noop.db
start_workers
wgen range 0 "$NOOP_N" --step 1 -f msgpack >"$work/noop.in"
t0=$(now)
wpool submit noop -k "$B/kernels/noop.so" -q <"$work/noop.in"
wpool wait noop -q
t1=$(now)
noop_rate=$(echo "$NOOP_N / ($t1 - $t0)" | bc -l)
stored=$(wpool results noop -f msgpack | wc -c)

# 2. 10 ms tasks
wgen seeds "$BUSY_N" >"$work/busy.in"
t0=$(now)
wpool submit busy -k "$B/kernels/busy10ms.so" -q <"$work/busy.in"
wpool wait busy -q
t1=$(now)
busy_wall=$(echo "$t1 - $t0" | bc -l)
# The ideal: the same work in a plain loop, split over the 2 workers.
b0=$(now)
"$B/bench/busy_baseline" "$BUSY_N" >/dev/null
b1=$(now)
ideal=$(echo "($b1 - $b0) / 2" | bc -l)

# 3. time to first result: a fresh worker on a pool with work waiting
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
pids=("${pids[0]}")
wgen seeds 10 | wpool submit first -k "$B/kernels/noop.so" -q
t0=$(now)
wrun "$W_POOL" -j 1 --name first --cache "$work/cache" -q &
pids+=($!)
until [ "$(wpool status first --json | jq '.campaigns[0].done')" -gt 0 ]; do sleep 0.002; done
t1=$(now)
first_ms=$(echo "($t1 - $t0) * 1000" | bc -l)

printf '%-52s %14s %12s %8s\n' "figure" "wpool" "baseline" "ratio"
printf '%-52s %14.0f %12s %8s\n' "no-op tasks/s end to end, 2 workers ($NOOP_N tasks)" "$noop_rate" "-" "-"
printf '%-52s %13.2fs %11.2fs %7.1f%%\n' "$BUSY_N x 10 ms tasks, 2 workers: wall vs ideal" "$busy_wall" "$ideal" \
  "$(echo "$ideal / $busy_wall * 100" | bc -l)"
printf '%-52s %12.0fms %12s %8s\n' "wrun start to first result (includes status polling)" "$first_ms" "-" "-"
echo "(results stored: $stored bytes of msgpack for the no-op campaign)"
echo "targets: >= 100,000 no-op tasks/s; >= 99% efficiency; first result < 50 ms"
