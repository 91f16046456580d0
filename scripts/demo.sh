#!/usr/bin/env bash
# `make run`: the demo on a freshly built tree. Until the pool exists this runs
# two example campaigns through `wgen | wrun -j 2` and says where the outputs are.
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/.."
echo "== divisible: the numbers below 10000 divisible by 123 (Distribute.js tutorial)"
echo "   wgen range 0 10000 --step 100 | wrun -k $B/kernels/divisible.so --static '{\"divisor\":123}' -j 2"
examples/divisible/run.sh "$B"
echo
echo "== mandelbrot: tiles rendered in parallel, assembled into an image"
examples/mandelbrot/run.sh "$B"
