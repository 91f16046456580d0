#!/usr/bin/env bash
# The Distribute.js tutorial: the multiples of 123 below 10000, searched in
# 100 ranges of 100 numbers by two sandboxed slots.
# Usage: examples/divisible/run.sh [build-dir]   (default: build/ in the repo)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common/example.sh"
example_start divisible "${1:-}" bin/wgen bin/wrun kernels/divisible.so

results=$(mktemp)
trap 'rm -f "$results"' EXIT

"$build/bin/wgen" range 0 10000 --step 100 |
  "$build/bin/wrun" -k "$build/kernels/divisible.so" --static '{"divisor":123}' -j 2 \
    >"$results" || fail "the pipeline exited with status $?"

error=$(jq -r 'select(has("error")) | "task \(.seq): \(.error)"' "$results" | head -n 1)
[[ -z $error ]] || fail "$error"
# Results arrive in completion order; sorting makes the list comparable.
got=$(jq '.output[]' "$results" | sort -n | paste -sd ' ')
want=$(seq 0 123 9999 | paste -sd ' ')
count=$(wc -w <<<"$got")
echo "multiples of 123 below 10000: $got"
[[ $got == "$want" ]] || fail "got $count numbers, not the 82 multiples of 123"
echo "check: divisible ok $count multiples"
