#!/usr/bin/env bash
# wgen range throughput in JSON and msgpack, beside `seq` writing the same
# count of plain numbers (the floor: a C loop printing lines).
# Usage: bench/wgen.sh [BUILD_DIR]
set -euo pipefail
B=${1:-build}
N_MP=${N_MP:-20000000}
N_JSON=${N_JSON:-10000000}
secs() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
best() { # best of 3
  local b="" s
  for _ in 1 2 3; do
    s=$(secs "$@")
    if [ -z "$b" ] || [ "$(echo "$s < $b" | bc -l)" = 1 ]; then b=$s; fi
  done
  echo "$b"
}
mp=$(best "$B/bin/wgen" range 0 "$N_MP" --step 1 -f msgpack)
js=$(best "$B/bin/wgen" range 0 "$N_JSON" --step 1)
sq=$(best seq 1 "$N_JSON")
printf '%-36s %14s %14s %8s\n' "figure" "wgen" "seq (floor)" "ratio"
printf '%-36s %14.0f %14.0f %8.2f\n' "range records/s, msgpack" "$(echo "$N_MP / $mp" | bc -l)" \
  "$(echo "$N_JSON / $sq" | bc -l)" "$(echo "($N_MP / $mp) / ($N_JSON / $sq)" | bc -l)"
printf '%-36s %14.0f %14.0f %8.2f\n' "range records/s, JSON Lines" "$(echo "$N_JSON / $js" | bc -l)" \
  "$(echo "$N_JSON / $sq" | bc -l)" "$(echo "($N_JSON / $js) / ($N_JSON / $sq)" | bc -l)"
echo "targets: >= 1,000,000/s msgpack, >= 300,000/s JSON"
