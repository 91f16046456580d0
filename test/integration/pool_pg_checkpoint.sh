# Checkpoints across pools: two `wpool serve` on one PostgreSQL database; a
# long task that checkpoints runs on a worker of pool 1; pool 1 and that
# worker are killed with kill -9 once a checkpoint is committed. Pool 2
# claims the task (pool 1's session is gone) and its worker resumes it at
# the checkpoint pool 1 stored, not at step 0.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/pg_common.sh"

start_postgres
POOL_DB=$(pg_createdb shared)
STEPS=40

serve 1
serve 2
worker first 1 -v
first=$WORKER_PID
echo "{\"steps\":$STEPS,\"log\":1}" >"$TMP/in"
run on 1 wpool submit long --kernel "$W_KERNELS/steps.so" --timeout 60s <"$TMP/in"
expect_rc 0

# steps_done LOG: the last step steps.so reported finished in that log (0: none).
steps_done() { grep -o 'step [0-9]* of' "$1" | tail -1 | grep -o '[0-9]*' || echo 0; }
# A checkpoint in the database (committed: psql sees no other) and a few
# steps done.
for _ in $(seq 1 200); do
  [ "$(pg_sql shared 'SELECT count(*) FROM checkpoints')" = 1 ] &&
    [ "$(steps_done "$TMP/worker-first.log")" -ge 6 ] && break
  sleep 0.05
done
[ "$(pg_sql shared 'SELECT count(*) FROM checkpoints')" = 1 ] ||
  fail "no checkpoint committed in 10 s; worker log: $(cat "$TMP/worker-first.log")"
kill -9 "$PPID_1" "$first"
wait "$PPID_1" "$first" 2>/dev/null || true
done_before=$(steps_done "$TMP/worker-first.log")
grep -q 'steps: step '"$STEPS"' of' "$TMP/worker-first.log" &&
  fail "the first worker finished the task before it was killed"

worker second 2 -v
run on 2 timeout 60 wpool wait long
expect_rc 0
on 2 wpool results long >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 1 ] || fail "expected 1 result, got: $(cat "$TMP/out.jsonl")"
started=$(jq -r .output.started "$TMP/out.jsonl")
ran=$(jq -r .output.ran "$TMP/out.jsonl")
[ "$(jq -r .output.steps "$TMP/out.jsonl")" = "$STEPS" ] || fail "wrong output: $(cat "$TMP/out.jsonl")"
[ "$started" -gt 0 ] ||
  fail "the task started again at step 0 on pool 2, not at pool 1's checkpoint (first worker did $done_before steps)"
[ $((started + ran)) -eq "$STEPS" ] || fail "started $started + ran $ran != $STEPS"
[ "$started" -le "$done_before" ] || fail "resumed at step $started, past the $done_before done"
grep -q "resuming from a checkpoint" "$TMP/worker-second.log" ||
  fail "the second worker did not say it resumed: $(cat "$TMP/worker-second.log")"
[ "$(pg_sql shared 'SELECT count(*) FROM checkpoints')" = 0 ] || fail "the checkpoint outlived its task"
echo "pool_pg_checkpoint: pool 1's worker did $done_before steps; pool 2's resumed at $started" >&2
