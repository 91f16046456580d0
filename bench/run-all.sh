#!/usr/bin/env bash
# `make bench`: every benchmark, figures side by side with their baselines.
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/.."
for b in bench/codec.sh bench/wgen.sh bench/wrun.sh bench/wbench.sh bench/pool.sh bench/wsig.sh bench/coupled.sh \
  bench/coupled_browser.sh; do
  [ -x "$b" ] || continue
  echo "== $b"
  "$b" "$B"
  echo
done
