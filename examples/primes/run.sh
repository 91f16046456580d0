#!/usr/bin/env bash
# The Distribute.js benchmark: count the primes below one million in 20
# chunks on two slots, then list the primes below 100 with "list": true.
# Usage: examples/primes/run.sh [build-dir]   (default: build/ in the repo)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common/example.sh"
example_start primes "${1:-}" bin/wgen bin/wrun kernels/primes.so

results=$(mktemp)
trap 'rm -f "$results"' EXIT
first_error() { jq -r 'select(has("error")) | "task \(.seq): \(.error)"' "$results" | head -n 1; }

"$build/bin/wgen" range 0 1000000 --step 50000 |
  "$build/bin/wrun" -k "$build/kernels/primes.so" -j 2 >"$results" ||
  fail "the pipeline exited with status $?"
error=$(first_error)
[[ -z $error ]] || fail "$error"
count=$(jq -s 'map(.output.count) | add' "$results")
echo "primes below 1000000: $count"
[[ $count == 78498 ]] || fail "counted $count primes below 1000000, not 78498"

"$build/bin/wgen" range 0 100 --step 30 |
  "$build/bin/wrun" -k "$build/kernels/primes.so" --static '{"list":true}' -j 2 >"$results" ||
  fail "the listing pipeline exited with status $?"
error=$(first_error)
[[ -z $error ]] || fail "$error"
listed=$(jq '.output.primes[]' "$results" | sort -n | paste -sd ' ')
echo "primes below 100: $listed"
[[ $listed == "2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59 61 67 71 73 79 83 89 97" ]] ||
  fail "wrong list of the primes below 100"
echo "check: primes ok $count primes below 1000000"
