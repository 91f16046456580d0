#!/usr/bin/env bash
# The WebRTC blog's Poisson solver by domain decomposition (seed 000), as a
# coupled task: the same grid solved as 1, 2 and 4 blocks, each block a
# group member exchanging its edges with its neighbours, every field checked
# against a single-process solve (SOR, poisson-reference) to 1e-6.
#
# Writes build/examples/poisson/: poisson.png (the field, heat map),
# convergence.png (global residual over sweeps, one curve per partition),
# walltime.png (wall time over blocks) and the raw results.
#
# Usage: examples/poisson/run.sh [build-dir]
# Environment (defaults in brackets):
#   POISSON_GRID      rows x cols of the whole grid [100x100]; from 200x200
#                     (POISSON_SPLITS="1x1 1x2") 2 blocks on 2 cores pay: S >= 1.5
#   POISSON_SPLITS    partitions to run, blockRows x blockCols [1x1 1x2 2x2]
#   POISSON_MAXRES    global residual target [1e-6]
#   POISSON_BLOCKITT  inner sweeps between exchanges (blockMaxItt) [20]
#   POISSON_TOLERANCE largest difference to the reference allowed [1e-6]
#   POISSON_REPEAT    runs of each split; its time is the best one [3]
#   EXAMPLE_MODE      pool: wsig + wpool + 4 one-slot workers, each split a
#                     coupled campaign, members linked directly (EXAMPLE_LINK=off:
#                     relayed through wsig); filter: one
#                     `wrun --group K -j K` per split, members on local slots [pool]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common/example.sh"
example_start poisson "${1:-}" bin/wrun bin/wpool bin/wsig kernels/poisson.so examples/wplot examples/poisson-reference
grid=${POISSON_GRID:-100x100}
splits=${POISSON_SPLITS:-1x1 1x2 2x2}
maxres=${POISSON_MAXRES:-1e-6}
blockitt=${POISSON_BLOCKITT:-20}
tolerance=${POISSON_TOLERANCE:-1e-6}
rows=${grid%x*} cols=${grid#*x}

mode=${EXAMPLE_MODE:-pool}
repeat=${POISSON_REPEAT:-3}
out=$build/examples/poisson
mkdir -p "$out"
rm -f "$out"/*.txt "$out"/*.jsonl

. "$here/../common/pool.sh"
coupled_start "$build" "$mode"

# run_task SPLIT K RUN: the dataset on stdin as one task of K members, its
# result record in result-SPLIT.jsonl.
run_task() {
  coupled_task "$build" "$mode" "$build/kernels/poisson.so" "poisson-$1-$3" "$2" "$out/result-$1.jsonl"
}

"$build/examples/poisson-reference" "$rows" "$cols" --tolerance 1e-9 >"$out/reference.txt" \
  2>"$out/reference.log" ||
  fail "the reference solve did not converge"

worst=0 figure=""
for split in $splits; do
  br=${split%x*} bc=${split#*x} k=$((${split%x*} * ${split#*x}))
  ((rows % br == 0 && cols % bc == 0)) || fail "split $split does not divide the ${grid} grid"
  input=$(printf '{"blockRows":%d,"blockCols":%d,"n":%d,"m":%d,"blockMaxItt":%d,"blockMaxRes":1e-9,"maxRes":%s}' \
    "$br" "$bc" $((rows / br)) $((cols / bc)) "$blockitt" "$maxres")
  seconds=""  # the best of $repeat runs
  for ((run = 1; run <= repeat; run++)); do
    start=$(date +%s%N)
    run_task "$split" "$k" "$run" <<<"$input"
    seconds=$(awk -v ns=$(($(date +%s%N) - start)) -v best="$seconds" \
      'BEGIN { s = ns / 1e9; printf "%.3f", (best == "" || s < best) ? s : best }')
  done
  read -r members rounds sweeps residual < <(python3 "$here/field.py" assemble \
    "$out/result-$split.jsonl" "$out/field-$split.txt" "$out/history-$split.txt") ||
    fail "split $split: could not assemble the blocks"
  [[ $members == "$k" ]] || fail "split $split: $members members answered, not $k"
  diff=$(python3 "$here/field.py" diff "$out/field-$split.txt" "$out/reference.txt" |
    awk '{ printf "%.2g", $1 }') ||
    fail "split $split: cannot compare with the reference"
  echo "split $split: $k blocks, $rounds rounds, $sweeps sweeps, residual $residual, max |u - reference| $diff, ${seconds} s, on $(jq -r .worker "$out/result-$split.jsonl")"
  awk -v d="$diff" -v t="$tolerance" 'BEGIN { exit !(d <= t) }' ||
    fail "split $split: max difference to the reference $diff > $tolerance"
  worst=$(awk -v a="$worst" -v b="$diff" 'BEGIN { print (b > a ? b : a) }')
  {
    echo "# $split blocks"
    cat "$out/history-$split.txt"
  } >>"$out/convergence.txt"
  echo "$k $seconds" >>"$out/walltime.txt"
  figure+="${figure:+,}$k:${seconds}s"
  last=$split
done

wplot=$build/examples/wplot
"$wplot" heat "$rows" "$cols" "$out/poisson.png" --title "Poisson, ${grid}, ${last} blocks" \
  <"$out/field-$last.txt" || fail "wplot heat failed"
"$wplot" line "$out/convergence.png" --log-y --title "Global residual" --x-label "sweeps" \
  --y-label "max residual" <"$out/convergence.txt" || fail "wplot line failed"
"$wplot" line "$out/walltime.png" --points --y-zero --title "Wall time, ${grid} grid" --x-label "blocks" \
  --y-label "seconds" <"$out/walltime.txt" || fail "wplot line failed"
for png in "$out/poisson.png" "$out/convergence.png" "$out/walltime.png"; do
  [[ $(head -c 4 "$png" | od -An -c | tr -d ' ') == '211PNG' ]] || fail "$png is not a PNG file"
done
echo "figures: $out/poisson.png $out/convergence.png $out/walltime.png"
[[ $mode == pool ]] && pool_stop
echo "check: poisson ok $mode mode, wall time $figure, max diff $worst"
