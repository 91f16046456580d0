#!/usr/bin/env bash
# The mlp case study's figure, PSciLab §8.3's constant-time scaling: wall
# time for M and 2M models of equal cost on 1 and 2 native workers (one slot
# each) of a real pool, from submit to the last result.
#
#   bench/mlp.sh [BUILD_DIR] [M]     (defaults: build, 8)
#   MLP_EPOCHS   epochs per model (default 1000: ~0.6 s each on one core)
#   MLP_RUNS     each time is the best of this many campaigns (default 3),
#                as the machine is often shared
#
# For a dynamic-sized problem, whose number of models DN grows with the
# number of workers PN, the paper has S = DN · T1 / TPN and σ = S / PN: with
# DN = PN = 2 that is σ = T(M, 1) / T(2M, 2), ideally 1 (twice the models in
# the same time on twice the workers). For the same 2M models, the static
# speed-up S = T(2M, 1) / T(2M, 2) and σ = S / 2 are printed too.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() {
  echo "bench/mlp: error: $*" >&2
  exit 1
}
build=$(cd "${1:-$here/../build}" 2>/dev/null && pwd) || fail "no build directory ${1:-$here/../build}"
m=${2:-8}
epochs=${MLP_EPOCHS:-1000}
runs=${MLP_RUNS:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || fail "MLP_RUNS must be a positive integer, not '$runs'"
[[ $m =~ ^[1-9][0-9]*$ ]] || fail "M must be a positive integer, not '$m'"
for f in bin/wgen bin/wrun bin/wpool kernels/mlp.so; do
  [[ -e $build/$f ]] || fail "$build/$f is missing (build it first)"
done
# shellcheck source=examples/mlp/lib.sh
. "$here/../examples/mlp/lib.sh"

static=$MLP_TMP/static.json
python3 "$here/../examples/mlp/spirals.py" 200 |
  jq -sc '{train: map(select(.split == "train") | [.x, .y, .label]),
           test: map(select(.split == "test") | [.x, .y, .label])}' >"$static"
mlp_start_pool

# run WORKERS MODELS [RUN]: one campaign; sets wall (seconds, submit to the
# last result) and per_model (the mean kernel seconds of a model).
run() {
  local name=w$1-m$2-r${3:-1} t0 t1
  t0=$(date +%s.%N)
  "$build/bin/wgen" grid optimizer=adam hidden=16 lr=0.03 epochs="$epochs" seed=1.."$2" |
    "$build/bin/wpool" submit "$name" --kernel "$build/kernels/mlp.so" --static "$static" -q >/dev/null
  "$build/bin/wpool" wait "$name" --timeout 30m -q || fail "campaign $name: wpool wait exited $?"
  t1=$(date +%s.%N)
  "$build/bin/wpool" results "$name" >"$MLP_TMP/$name.jsonl"
  [[ $(jq -s 'map(select(has("output"))) | length' "$MLP_TMP/$name.jsonl") == "$2" ]] ||
    fail "campaign $name: not every model was trained"
  wall=$(echo "$t1 - $t0" | bc)
  per_model=$(jq -s 'map(.ms) | add / length / 1000' "$MLP_TMP/$name.jsonl")
}

load0=$(cut -d' ' -f1 /proc/loadavg)
declare -A t k
for workers in 1 2; do
  mlp_start_workers "$workers"
  for models in "$m" $((2 * m)); do
    for r in $(seq 1 "$runs"); do
      run "$workers" "$models" "$r"
      if [[ -z ${t[$workers,$models]:-} ]] || (($(echo "$wall < ${t[$workers,$models]}" | bc))); then
        t[$workers,$models]=$wall
        k[$workers,$models]=$per_model
      fi
    done
  done
  mlp_stop_workers
done
mlp_stop_all

echo "mlp scaling: models of 2 x 16 tanh units, Adam, $epochs epochs on 300 points, one slot per worker, best of $runs"
echo "machine: $(nproc) cores, load average $load0 before, $(cut -d' ' -f1 /proc/loadavg) after"
printf '%8s %8s %10s %10s %16s\n' models workers "wall s" "models/s" "kernel s/model"
for workers in 1 2; do
  for models in "$m" $((2 * m)); do
    printf '%8d %8d %10.2f %10.2f %16.3f\n' "$models" "$workers" "${t[$workers,$models]}" \
      "$(echo "$models / ${t[$workers,$models]}" | bc -l)" "${k[$workers,$models]}"
  done
done
sigma=$(echo "${t[1,$m]} / ${t[2,$((2 * m))]}" | bc -l)
speedup=$(echo "${t[1,$((2 * m))]} / ${t[2,$((2 * m))]}" | bc -l)
printf 'constant time: T(%d models, 1 worker) / T(%d models, 2 workers) = sigma %.3f (ideal 1; S = %.3f)\n' \
  "$m" $((2 * m)) "$sigma" "$(echo "2 * $sigma" | bc -l)"
printf 'fixed size:    %d models, S = T1/T2 = %.3f, sigma = S/2 = %.3f\n' $((2 * m)) "$speedup" \
  "$(echo "$speedup / 2" | bc -l)"
