#!/usr/bin/env bash
# PSciLab §8.2: the particle random walk on a cellular automaton, as a
# coupled task: one world, split into 1, 2 and 4 partitions (each a group
# member exchanging halos with its neighbours three times a step). Checks
# that the particle count is the same after every step and that the final
# world is the same, cell for cell, whatever the partitioning; measures the
# speed-up S = T1/TPN and the scaling σ = S/PN for 1 and 2 partitions on 1
# and 2 slots, as the paper reports them.
#
# Writes build/examples/randomwalk/: world.png (the final world, particles
# coloured by id, i.e. by where they started), speedup.png (S and σ over PN)
# and the raw results.
#
# Usage: examples/randomwalk/run.sh [build-dir]
# Environment (defaults in brackets):
#   RANDOMWALK_WORLD   rows x cols of the world [200x200]
#   RANDOMWALK_STEPS   simulation steps [500]
#   RANDOMWALK_SPLITS  partitionings to compare, rows x cols; the first two
#                      give the speed-up (PN = 1, PN = 2) [1x1 1x2 2x2]
#   RANDOMWALK_SEED    the seed [42]
#   RANDOMWALK_REPEAT runs of each split; its time is the best one [3]
#   EXAMPLE_MODE       pool: wsig + wpool + 2 workers of 2 slots, each split a
#                      coupled campaign relayed through wsig; filter: one
#                      `wrun --group K -j K` per split, members on local slots [pool]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() {
  echo "check: randomwalk FAIL $*"
  exit 1
}
build=$(cd "${1:-$here/../../build}" 2>/dev/null && pwd) || fail "no build directory ${1:-$here/../../build}"
world=${RANDOMWALK_WORLD:-200x200}
steps=${RANDOMWALK_STEPS:-500}
splits=${RANDOMWALK_SPLITS:-1x1 1x2 2x2}
seed=${RANDOMWALK_SEED:-42}
rows=${world%x*} cols=${world#*x}

mode=${EXAMPLE_MODE:-pool}
repeat=${RANDOMWALK_REPEAT:-3}
for f in bin/wrun bin/wpool bin/wsig kernels/randomwalk.so examples/wplot; do
  [[ -e $build/$f ]] || fail "$build/$f is missing (build it first)"
done
wrun=$build/bin/wrun
out=$build/examples/randomwalk
mkdir -p "$out"
rm -f "$out"/*.txt "$out"/*.jsonl

case $mode in
  pool)
    . "$here/../common/pool.sh"
    pool_start "$build" 2 2 || fail "could not start the pool"
    echo "pool mode: wsig $SIG, wpool $POOL, 2 workers x 2 slots"
    ;;
  filter) echo "filter mode: wrun --group K -j K" ;;
  *) fail "EXAMPLE_MODE is $mode, not pool or filter" ;;
esac

# Timings mean little on a busy machine: say how busy it is.
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"

# run_task SPLIT K RUN: the dataset on stdin as one task of K members, its
# result record in result-SPLIT.jsonl.
run_task() {
  local split=$1 k=$2 run=$3
  if [[ $mode == pool ]]; then
    ((k <= POOL_SLOTS)) || fail "split $split needs $k slots, the pool has $POOL_SLOTS"
    pool_run "$build" "randomwalk-$split-$run" "$build/kernels/randomwalk.so" "$k" \
      "$out/result-$split.jsonl" || {
      pool_logs >&2
      fail "split $split: the campaign failed (logs above)"
    }
  else
    "$wrun" -k "$build/kernels/randomwalk.so" --group "$k" -j "$k" --timeout 5m --no-input \
      >"$out/result-$split.jsonl" || fail "wrun exited with status $? on split $split"
  fi
}

declare -A t
first="" pns=()
for split in $splits; do
  pr=${split%x*} pc=${split#*x} k=$((${split%x*} * ${split#*x}))
  input=$(printf '{"rows":%d,"cols":%d,"partitions":[%d,%d],"steps":%d,"P":0.3,"seed":%d}' \
    "$rows" "$cols" "$pr" "$pc" "$steps" "$seed")
  seconds=""  # the best of $repeat runs
  for ((run = 1; run <= repeat; run++)); do
    start=$(date +%s%N)
    run_task "$split" "$k" "$run" <<<"$input"
    seconds=$(awk -v ns=$(($(date +%s%N) - start)) -v best="$seconds" \
      'BEGIN { s = ns / 1e9; printf "%.3f", (best == "" || s < best) ? s : best }')
  done
  read -r members particles nsteps moves < <(python3 "$here/grid.py" assemble \
    "$out/result-$split.jsonl" "$out/world-$split.txt") || fail "split $split: the check failed"
  [[ $members == "$k" ]] || fail "split $split: $members members answered, not $k"
  ((moves > 0)) || fail "split $split: no particle moved"
  echo "split $split: $k partitions, $particles particles in every one of $nsteps steps, $moves moves, ${seconds} s"
  if [[ -z $first ]]; then
    first=$split
  else
    cmp -s "$out/world-$first.txt" "$out/world-$split.txt" ||
      fail "the final world of split $split differs from that of $first"
  fi
  t[$k]=$seconds
  pns+=("$k")
done

# S = T1 / TPN and σ = S / PN, T the wall time of the wrun run.
figure="" speedup=$out/speedup.txt
if ((${#pns[@]} >= 2)) && [[ ${pns[0]} == 1 ]]; then
  {
    echo "# S = T1/TPN"
    for pn in 1 "${pns[1]}"; do awk -v p="$pn" -v a="${t[1]}" -v b="${t[$pn]}" 'BEGIN { print p, a / b }'; done
    echo "# sigma = S/PN"
    for pn in 1 "${pns[1]}"; do awk -v p="$pn" -v a="${t[1]}" -v b="${t[$pn]}" 'BEGIN { print p, a / b / p }'; done
  } >"$speedup"
  figure=$(awk '/^#/ { s++ } !/^#/ && $1 > 1 { v[s] = $2 } END { printf "S=%.2f sigma=%.2f", v[1], v[2] }' "$speedup")
  "$build/examples/wplot" line "$out/speedup.png" --points --y-zero --title "Random walk, ${world}, ${steps} steps" \
    --x-label "PN (partitions = slots)" --y-label "S, sigma" <"$speedup" || fail "wplot line failed"
else
  figure="T1=${t[1]:-?}s"
fi
"$build/examples/wplot" heat "$rows" "$cols" "$out/world.png" --blank 0 \
  --title "After $steps steps" <"$out/world-$first.txt" || fail "wplot heat failed"
echo "figures: $out/world.png${figure:+ $out/speedup.png}"
[[ $mode == pool ]] && pool_stop
echo "check: randomwalk ok $mode mode, $figure, same world for ${splits// /, }"
