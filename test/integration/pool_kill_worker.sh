# kill -9 workers mid-run, repeatedly: their leases return to the queue and
# the campaign completes with exactly one result per task.
. "$(dirname "$0")/pool_common.sh"
POOL_ARGS="--worker-timeout 2s --heartbeat 500ms"
start_pool
start_worker steady -j 1
datasets 300 >"$TMP/in"
run wpool submit busy --kernel "$W_KERNELS/busy10ms.so" --timeout 5s <"$TMP/in"
expect_rc 0
for round in 1 2 3; do
  start_worker victim$round -j 2
  sleep 0.6
  kill -9 "$WORKER_PID"
done
start_worker last -j 2
run timeout 120 wpool wait busy
expect_rc 0
wpool results busy >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 300 ] || fail "expected 300 results, got $(wc -l <"$TMP/out.jsonl")"
[ "$(jq -r .seq "$TMP/out.jsonl" | sort -u | wc -l)" -eq 300 ] || fail "duplicate or missing results"
