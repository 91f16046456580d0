#!/usr/bin/env bash
# wrun throughput and overhead, each figure beside its baseline.
#   1. no-op tasks/s through wrun -j1 and -j2 (msgpack in and out)
#   2. 10 ms tasks: wrun -j1 wall time vs the same function in a plain loop
#   3. CPU-bound scaling: -j2 vs -j1
# Usage: bench/wrun.sh [BUILD_DIR]
set -euo pipefail
B=${1:-build}
BIN=$B/bin K=$B/kernels
NOOP_N=${NOOP_N:-1000000}
BUSY_N=${BUSY_N:-200}
. "$(dirname "$0")/common.sh"
tmp=$work

secs() { # run a command, print its wall time in seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

"$BIN/wgen" range 0 "$NOOP_N" --step 1 -f msgpack >"$tmp/noop.in"
"$BIN/wgen" seeds "$BUSY_N" -f msgpack >"$tmp/busy.in"

best() { # best of 3 runs
  local b=""
  for _ in 1 2 3; do
    local s
    s=$("$@")
    if [ -z "$b" ] || [ "$(echo "$s < $b" | bc -l)" = 1 ]; then b=$s; fi
  done
  echo "$b"
}
noop() { secs sh -c "'$BIN/wrun' -k '$K/noop.so' -j $1 -f msgpack --no-input -q < '$tmp/noop.in'"; }
busy() { secs sh -c "'$BIN/wrun' -k '$K/busy10ms.so' -j $1 -f msgpack --no-input -q < '$tmp/busy.in'"; }

free_before=$(cores_free)
n1=$(best noop 1)
n2=$(best noop 2)
base=$(best secs "$B/bench/busy_baseline" "$BUSY_N")
b1=$(best busy 1)
b2=$(best busy 2)
free_after=$(cores_free)

printf '%-44s %14s %14s %8s\n' "figure" "wrun" "baseline" "ratio"
printf '%-44s %14.0f %14s %8s\n' "no-op tasks/s, -j1 ($NOOP_N tasks)" "$(echo "$NOOP_N / $n1" | bc -l)" "-" "-"
printf '%-44s %14.0f %14.0f %8.2f\n' "no-op tasks/s, -j2 vs -j1" "$(echo "$NOOP_N / $n2" | bc -l)" \
  "$(echo "$NOOP_N / $n1" | bc -l)" "$(echo "$n1 / $n2" | bc -l)"
printf '%-44s %14.3f %14.3f %8.3f\n' "10 ms tasks, -j1 vs plain loop (s, $BUSY_N)" "$b1" "$base" "$(echo "$b1 / $base" | bc -l)"
printf '%-44s %14.3f %14.3f %8.2f\n' "CPU-bound speed-up, -j2 vs -j1 (s)" "$b2" "$b1" "$(echo "$b1 / $b2" | bc -l)"
echo "overhead per 10 ms task: $(echo "($b1 / $base - 1) * 100" | bc -l | xargs printf '%.2f')%  (target <= 2%)"
echo "cores free before/after: $free_before/$free_after of 2 (below ~1.9 the figures are noisy)"
