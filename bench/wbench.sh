#!/usr/bin/env bash
# wbench's repeatability: 5 runs of `wbench --json`, min/max/mean and the
# spread (max - min) / mean. Target: spread <= 3%.
# Usage: bench/wbench.sh [BUILD_DIR]
set -euo pipefail
B=${1:-build}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
scores=()
for i in 1 2 3 4 5; do
  scores+=("$("$B/bin/wbench" --seconds "$SECONDS_PER_RUN" --json | jq .dhrystones_per_second)")
done
printf '%s\n' "${scores[@]}" | awk -v secs="$SECONDS_PER_RUN" '
  { v[NR] = $1; s += $1; if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1 }
  END {
    mean = s / NR
    printf "%-28s %14s\n", "figure (5 runs of " secs " s)", "value"
    printf "%-28s %14.0f\n", "min Dhrystones/s", lo
    printf "%-28s %14.0f\n", "max Dhrystones/s", hi
    printf "%-28s %14.0f  (%.0f DMIPS)\n", "mean Dhrystones/s", mean, mean / 1757
    printf "%-28s %13.2f%%  (target <= 3%%)\n", "spread (max-min)/mean", (hi - lo) / mean * 100
  }'
