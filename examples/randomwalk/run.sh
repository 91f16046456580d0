#!/usr/bin/env bash
# PSciLab §8.2: the particle random walk on a cellular automaton, as a
# coupled task: one world, split into 1, 2 and 4 partitions (each a group
# member exchanging halos with its neighbours three times a step). Checks
# that the particle count is the same after every step and that the final
# world is the same, cell for cell, whatever the partitioning; measures the
# speed-up S = T1/TPN and the scaling σ = S/PN for 1 and 2 partitions on 1
# and 2 workers, as the paper reports them, for this world and a larger one.
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
#   RANDOMWALK_MORE    more worlds for the speed-up, RxC:steps, each run (and
#                      checked) on 1x1 and 1x2 [1000x1000:200]
#   RANDOMWALK_REPEAT  runs of each split, the splits taking turns; its time is
#                      the best one [3]
#   EXAMPLE_MODE       pool: wsig + wpool + 4 one-slot workers, each split a
#                      coupled campaign, members linked directly (EXAMPLE_LINK=off:
#                      relayed through wsig); filter: one
#                      `wrun --group K -j K` per split, members on local slots [pool]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common/example.sh"
example_start randomwalk "${1:-}" bin/wrun bin/wpool bin/wsig kernels/randomwalk.so examples/wplot
world=${RANDOMWALK_WORLD:-200x200}
steps=${RANDOMWALK_STEPS:-500}
splits=${RANDOMWALK_SPLITS:-1x1 1x2 2x2}
seed=${RANDOMWALK_SEED:-42}
more=${RANDOMWALK_MORE-1000x1000:200}
rows=${world%x*} cols=${world#*x}

mode=${EXAMPLE_MODE:-pool}
repeat=${RANDOMWALK_REPEAT:-3}
out=$build/examples/randomwalk
mkdir -p "$out"
rm -f "$out"/*.txt "$out"/*.jsonl

. "$here/../common/pool.sh"
coupled_start "$build" "$mode"

# run_task SPLIT K RUN: the dataset on stdin as one task of K members, its
# result record in result-SPLIT.jsonl.
run_task() {
  coupled_task "$build" "$mode" "$build/kernels/randomwalk.so" "randomwalk-$1-$3" "$2" "$out/result-$1.jsonl"
}

# simulate WORLD STEPS SPLITS: runs the world on each split (the best time
# of $repeat runs in t[WORLD:K]; the splits take turns, so a swing of the
# host's speed falls on all of them), checks each, and that all end the same;
# the first split's final world is left in world-WORLD.txt.
declare -A t
simulate() {
  local world=$1 steps=$2 splits=$3 split first="" rows=${1%x*} cols=${1#*x} run
  local -A best
  for ((run = 1; run <= repeat; run++)); do
    for split in $splits; do
      local pr=${split%x*} pc=${split#*x} k=$((${split%x*} * ${split#*x})) start input
      input=$(printf '{"rows":%d,"cols":%d,"partitions":[%d,%d],"steps":%d,"P":0.3,"seed":%d}' \
        "$rows" "$cols" "$pr" "$pc" "$steps" "$seed")
      start=$(date +%s%N)
      run_task "$world-$split" "$k" "$run" <<<"$input"
      best[$split]=$(awk -v ns=$(($(date +%s%N) - start)) -v best="${best[$split]:-}" \
        'BEGIN { s = ns / 1e9; printf "%.3f", (best == "" || s < best) ? s : best }')
    done
  done
  for split in $splits; do
    local k=$((${split%x*} * ${split#*x})) members particles nsteps moves tag="$world-$split"
    read -r members particles nsteps moves < <(python3 "$here/grid.py" assemble \
      "$out/result-$tag.jsonl" "$out/world-$tag.txt") || fail "$tag: the check failed"
    [[ $members == "$k" ]] || fail "$tag: $members members answered, not $k"
    ((moves > 0)) || fail "$tag: no particle moved"
    echo "$world, split $split: $k partitions, $particles particles in every one of $nsteps steps, $moves moves, ${best[$split]} s, on $(jq -r .worker "$out/result-$tag.jsonl")"
    if [[ -z $first ]]; then
      first=$split
      cp "$out/world-$tag.txt" "$out/world-$world.txt"
    else
      cmp -s "$out/world-$world.txt" "$out/world-$tag.txt" ||
        fail "$world: the final world of split $split differs from that of $first"
    fi
    t[$world:$k]=${best[$split]}
  done
}

simulate "$world" "$steps" "$splits"
worlds=("$world")
for extra in $more; do
  simulate "${extra%:*}" "${extra#*:}" "1x1 1x2"
  worlds+=("${extra%:*}")
done

# S = T1 / TPN and σ = S / PN for PN = 1, 2, T the wall time from submit
# to result, for each world that ran on 1 and 2 partitions.
figure="" speedup=$out/speedup.txt
: >"$speedup"
for w in "${worlds[@]}"; do
  [[ -n ${t[$w:1]:-} && -n ${t[$w:2]:-} ]] || continue
  awk -v w="$w" -v a="${t[$w:1]}" -v b="${t[$w:2]}" \
    'BEGIN { printf "# S, %s\n1 1\n2 %g\n# sigma, %s\n1 1\n2 %g\n", w, a / b, w, a / b / 2 }' >>"$speedup"
  figure+="${figure:+, }$(awk -v w="$w" -v a="${t[$w:1]}" -v b="${t[$w:2]}" \
    'BEGIN { printf "S=%.2f sigma=%.2f (%s)", a / b, a / b / 2, w }')"
done
pngs=("$out/world.png")
if [[ -n $figure ]]; then
  "$build/examples/wplot" line "$out/speedup.png" --points --y-zero \
    --title "Random walk: speed-up S and scaling sigma" --x-label "PN (partitions, one worker each)" \
    --y-label "S, sigma" <"$speedup" || fail "wplot line failed"
  pngs+=("$out/speedup.png")
else
  figure="T1=${t[$world:1]:-?}s"
fi
"$build/examples/wplot" heat "$rows" "$cols" "$out/world.png" --blank 0 \
  --title "After $steps steps" <"$out/world-$world.txt" || fail "wplot heat failed"
for png in "${pngs[@]}"; do
  [[ $(head -c 4 "$png" | od -An -c | tr -d ' ') == '211PNG' ]] || fail "$png is not a PNG file"
done
echo "figures: ${pngs[*]}"
[[ $mode == pool ]] && pool_stop
echo "check: randomwalk ok $mode mode, $figure, same world for ${splits// /, }"
