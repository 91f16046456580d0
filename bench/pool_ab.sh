#!/usr/bin/env bash
# Two builds of wpool+wrun side by side: no-op tasks/s end to end (one
# SQLite pool, 2 `wrun -j 1`, N tasks submitted as msgpack, from the first
# byte submitted to `wpool wait` returning), ROUNDS rounds, the builds
# interleaved so that a host that changes speed over minutes moves both.
# It answers "is the code slower, or the machine?" (README: the pool's
# figures of 2026-12-03 against efa6bde).
# Usage: bench/pool_ab.sh BUILD_A BUILD_B   (env: N=200000, ROUNDS=3); BUILD_B
# needs bench/ built too (the free-cores probe runs its busy_baseline).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bench/pool_ab.sh BUILD_A BUILD_B" >&2; exit 2; }
A=$(cd "$1" && pwd)
Bb=$(cd "$2" && pwd)
B=$Bb # common.sh's cores_free runs its bench/busy_baseline
N=${N:-200000}
ROUNDS=${ROUNDS:-3}
for b in "$A" "$Bb"; do
  for f in wpool wrun wgen; do
    [ -x "$b/bin/$f" ] || { echo "bench/pool_ab.sh: error: build $b/bin/$f first" >&2; exit 1; }
  done
done
. "$(dirname "$0")/common.sh"

# noop BUILD: tasks/s of one round with that build's programs.
noop() {
  local b=$1 d
  d=$(mktemp -d -p "$work")
  "$b/bin/wpool" serve --db "$d/p.db" --listen 127.0.0.1:0 2>"$d/pool.log" &
  pids+=($!)
  local port t0 t1
  port=$(listening_port "$d/pool.log")
  export W_POOL=ws://127.0.0.1:$port
  "$b/bin/wrun" "$W_POOL" -j 1 --name a --cache "$d/cache-a" -q 2>/dev/null &
  pids+=($!)
  "$b/bin/wrun" "$W_POOL" -j 1 --name b --cache "$d/cache-b" -q 2>/dev/null &
  pids+=($!)
  "$b/bin/wgen" range 0 "$N" --step 1 -f msgpack >"$d/noop.in"
  sleep 1 # both workers connected
  t0=$(date +%s.%N)
  "$b/bin/wpool" submit noop -k "$b/kernels/noop.so" -q <"$d/noop.in"
  "$b/bin/wpool" wait noop -q
  t1=$(date +%s.%N)
  stop_pids
  echo "$N / ($t1 - $t0)" | bc
}

echo "cores free before: $(cores_free) of $(nproc)"
printf '%-6s %14s %14s\n' round "A tasks/s" "B tasks/s"
for r in $(seq 1 "$ROUNDS"); do
  printf '%-6s %14s %14s\n' "$r" "$(noop "$A")" "$(noop "$Bb")"
done
echo "cores free after: $(cores_free) of $(nproc)"
echo "A: $A"
echo "B: $Bb"
echo "$N no-op tasks, 2 wrun -j 1, one SQLite pool (durable), each round A then B"
