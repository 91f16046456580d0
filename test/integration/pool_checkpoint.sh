# A long task that checkpoints survives kill -9 of its worker: the pool
# re-dispatches it with its last checkpoint, and the next worker resumes it
# there instead of at step 0, redoing at most the steps after the last
# checkpoint that reached the pool (wrun sends one per task per 100 ms).
. "$(dirname "$0")/pool_common.sh"
POOL_ARGS="--worker-timeout 2s --heartbeat 500ms"
STEPS=40
start_pool
start_worker first -j 1 -v
first=$WORKER_PID
echo "{\"steps\":$STEPS,\"log\":1}" >"$TMP/in"
run wpool submit long --kernel "$W_KERNELS/steps.so" --timeout 60s <"$TMP/in"
expect_rc 0

# steps_done LOG: the last step steps.so reported finished in that log (0: none).
steps_done() { grep -o 'step [0-9]* of' "$1" | tail -1 | grep -o '[0-9]*' || echo 0; }
# stored: checkpoints the pool has stored since it started (its /metrics).
stored() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk '$1 == "wpool_checkpoints_total" { print $2 }'
}
for i in $(seq 1 200); do
  [ "$(stored)" -ge 3 ] && [ "$(steps_done "$TMP/worker-first.log")" -ge 6 ] && break
  sleep 0.05
done
[ "$(stored)" -ge 3 ] ||
  fail "the pool stored $(stored) checkpoints in 10 s; worker log: $(cat "$TMP/worker-first.log")"
kill -9 "$first"
wait "$first" 2>/dev/null || true
done_before=$(steps_done "$TMP/worker-first.log")
grep -q 'steps: step '"$STEPS"' of' "$TMP/worker-first.log" &&
  fail "the first worker finished the task before it was killed"

start_worker second -j 1 -v
run timeout 60 wpool wait long
expect_rc 0
wpool results long >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 1 ] || fail "expected 1 result, got: $(cat "$TMP/out.jsonl")"
started=$(jq -r .output.started "$TMP/out.jsonl")
ran=$(jq -r .output.ran "$TMP/out.jsonl")
[ "$(jq -r .output.steps "$TMP/out.jsonl")" = "$STEPS" ] || fail "wrong output: $(cat "$TMP/out.jsonl")"
[ "$started" -gt 0 ] || fail "the task started again at step 0, not at its checkpoint (first worker did $done_before steps)"
[ $((started + ran)) -eq "$STEPS" ] || fail "started $started + ran $ran != $STEPS"
grep -q "resuming from a checkpoint of 4 bytes" "$TMP/worker-second.log" ||
  fail "the second worker did not say it resumed: $(cat "$TMP/worker-second.log")"
redone=$((done_before - started))
# Two steps fit in the 100 ms between checkpoints sent; one more of slack for
# a loaded machine, where the worker's loop may wake late.
[ "$redone" -ge 0 ] && [ "$redone" -le 3 ] ||
  fail "resumed at step $started after $done_before steps were done: redid $redone"
echo "first worker did $done_before steps; resumed at $started, redid $redone, ran $ran"
