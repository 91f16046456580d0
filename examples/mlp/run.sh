#!/usr/bin/env bash
# PSciLab's multi-model case study (§8.3) on wkit: a hyper-parameter grid of
# small neural networks, one model per task, trained on two interleaved
# spirals by a pool with two native workers. The dataset lives in wsql, the
# models' loss curves and accuracies go back into it, the best model is
# chosen by a query, and the accuracy over the grid is drawn as a heat map:
# build/examples/mlp.png.
#
# Usage: examples/mlp/run.sh [build-dir]   (default: build/ in the repo)
#   MLP_SIZE=small   a quick grid for `make test` (default: full)
#   MLP_MIN_ACC      the best test accuracy to clear (default 0.9)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common/example.sh"
example_start mlp "${1:-}" bin/wgen bin/wrun bin/wpool bin/wsql kernels/mlp.so examples/mlp_heatmap
for tool in jq curl python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (make deps)"
done
min_acc=${MLP_MIN_ACC:-0.9}
case ${MLP_SIZE:-full} in
  small)
    points=100
    grid=('optimizer=sgd,adam' 'hidden=8,16' 'lr=0.3,0.1,0.03' epochs=150)
    ;;
  full)
    points=200
    grid=('optimizer=sgd,adam' 'hidden=4,8,16' 'lr=1,0.3,0.1,0.03,0.01,0.003' epochs=400)
    ;;
  *) fail "MLP_SIZE is '$MLP_SIZE', not small or full" ;;
esac
# shellcheck source=examples/mlp/lib.sh
. "$here/lib.sh"
start=$(date +%s.%N)

# The dataset, into wsql, then out again as the campaign's static dataset
# (the paper's workers read theirs from an SQL database the same way).
mlp_start_wsql
python3 "$here/spirals.py" "$points" |
  "$build/bin/wsql" insert --create "$DB" samples 2>>"$MLP_TMP/wsql-client.log" ||
  fail "wsql insert samples: $(tail -1 "$MLP_TMP/wsql-client.log")"
static=$MLP_TMP/static.json
"$build/bin/wsql" "$DB" 'SELECT x, y, label, split FROM samples ORDER BY id' |
  jq -sc '{train: map(select(.split == "train") | [.x, .y, .label]),
           test: map(select(.split == "test") | [.x, .y, .label])}' >"$static" ||
  fail "could not read the samples back from wsql"
echo "dataset: two spirals, $(jq '.train | length' "$static") training and $(jq '.test | length' "$static") test points"

# The campaign: one task per point of the grid.
mlp_start_pool
mlp_start_workers 2
"$build/bin/wgen" grid "${grid[@]}" |
  "$build/bin/wpool" submit mlp --kernel "$build/kernels/mlp.so" --static "$static" -q ||
  fail "wpool submit exited with status $?"
total=$("$build/bin/wgen" grid "${grid[@]}" | wc -l)
echo "campaign: $total models (${grid[*]}) on 2 workers"
rc=0
"$build/bin/wpool" wait mlp --timeout 5m -q || rc=$?
((rc != 2)) || fail "the campaign did not finish within 5 minutes"

# Results into wsql: one row per model, its loss curve as JSON text.
results=$MLP_TMP/results.jsonl
"$build/bin/wpool" results mlp >"$results" || fail "wpool results exited with status $?"
error=$(jq -r 'select(has("error")) | "task \(.seq): \(.error)"' "$results" | head -n 1)
[[ -z $error ]] || fail "$error"
jq -c '.output + {task, worker, ms}' "$results" |
  "$build/bin/wsql" insert --create "$DB" models 2>>"$MLP_TMP/wsql-client.log" ||
  fail "wsql insert models: $(tail -1 "$MLP_TMP/wsql-client.log")"
stored=$("$build/bin/wsql" "$DB" 'SELECT count(*) AS n FROM models' | jq .n)
[[ $stored == "$total" ]] || fail "$stored models stored in wsql, not $total"
"$build/bin/wsql" -f table "$DB" \
  'SELECT worker, count(*) AS models, round(sum(ms) / 1000, 1) AS seconds FROM models GROUP BY worker'

# The best model, by a query: the highest test accuracy, then the lowest loss.
best=$("$build/bin/wsql" "$DB" 'SELECT optimizer, hidden, lr, epochs, params, test_acc, train_acc,
  final_loss, loss FROM models ORDER BY test_acc DESC, final_loss ASC LIMIT 1')
[[ -n $best ]] || fail "the query for the best model returned nothing"
acc=$(jq -r .test_acc <<<"$best")
echo "best: $(jq -r '"\(.optimizer), hidden \(.hidden), lr \(.lr), \(.epochs) epochs, \(.params) parameters:
      test accuracy \(.test_acc), training accuracy \(.train_acc), loss \(.final_loss | . * 1e4 | round / 1e4)"' <<<"$best")"
jq -r '.loss | fromjson | [.[0], .[length / 4 | floor], .[length / 2 | floor], .[-1]] | @tsv' <<<"$best" |
  awk -F'\t' '{ printf "best loss curve: %.3g (first epoch) -> %.3g -> %.3g -> %.3g (last)\n", $1, $2, $3, $4 }'

# Accuracy over the grid, per optimizer: hidden × lr.
image=$build/examples/mlp.png
"$build/bin/wsql" -f tsv "$DB" \
  'SELECT optimizer, hidden, lr, max(test_acc) AS test_acc FROM models GROUP BY optimizer, hidden, lr' |
  "$build/examples/mlp_heatmap" "$image" 0.5 1 || fail "mlp_heatmap could not draw $image"
[[ $(head -c 8 "$image" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$image is not a PNG"
echo "image: $image"

# The loss curves of the best model of each optimizer, drawn by wplot
# (examples/common) when the build has it.
curves=$build/examples/mlp-loss.png
if [[ -x $build/examples/wplot ]]; then
  "$build/bin/wsql" "$DB" 'SELECT optimizer, hidden, lr, epochs, loss FROM models AS m
    WHERE rowid = (SELECT rowid FROM models WHERE optimizer = m.optimizer
                   ORDER BY test_acc DESC, final_loss ASC LIMIT 1) ORDER BY optimizer' |
    jq -r '.epochs as $e | (.loss | fromjson) as $l | "# \(.optimizer), hidden \(.hidden), lr \(.lr)",
      (range($l | length) | "\((. + 1) * $e / ($l | length) | round) \([$l[.], 1e-6] | max)")' |
    "$build/examples/wplot" line "$curves" --log-y --title "training loss of the best models" \
      --x-label epoch --y-label "cross-entropy" || fail "wplot could not draw $curves"
  echo "image: $curves"
fi

mlp_stop_all
[[ $(mlp_running) == 0 ]] || fail "some processes did not stop"
seconds=$(echo "$(date +%s.%N) - $start" | bc)
printf 'wall time: %.1f s\n' "$seconds"
jq -e --argjson min "$min_acc" '.test_acc >= $min' <<<"$best" >/dev/null ||
  fail "best test accuracy $acc is below $min_acc"
echo "check: mlp ok best test accuracy $acc >= $min_acc over $total models, $image"
