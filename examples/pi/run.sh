#!/usr/bin/env bash
# Monte Carlo pi: 64 seeds × 1e6 points on two slots, summed here.
# Usage: examples/pi/run.sh [build-dir] [seeds] [samples-per-seed]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common/example.sh"
example_start pi "${1:-}" bin/wgen bin/wrun kernels/pi.so
seeds=${2:-64}
samples=${3:-1000000}

results=$(mktemp)
trap 'rm -f "$results"' EXIT

# A fixed --base makes the estimate the same on every run and platform.
"$build/bin/wgen" seeds "$seeds" --base 0 |
  "$build/bin/wrun" -k "$build/kernels/pi.so" --static "{\"samples\":$samples}" -j 2 \
    >"$results" || fail "the pipeline exited with status $?"

error=$(jq -r 'select(has("error")) | "task \(.seq): \(.error)"' "$results" | head -n 1)
[[ -z $error ]] || fail "$error"
read -r inside total estimate off < <(jq -rs '
  (map(.output.inside) | add) as $in | (map(.output.samples) | add) as $n |
  (4 * $in / $n) as $pi | ($pi - 3.141592653589793 | fabs) as $off |
  "\($in) \($n) \($pi) \($off)"' "$results")
printf 'pi ≈ %.6f (%d of %d points inside; off by %.6f)\n' "$estimate" "$inside" "$total" "$off"
jq -en "$off < 0.01" >/dev/null || fail "$(printf "estimate %.6f is %.6f away from pi" "$estimate" "$off")"
echo "check: pi ok $(printf %.5f "$estimate")"
