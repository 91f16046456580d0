# A coupled run whose members checkpoint after a barrier survives kill -9 of
# one member's worker: the pool keeps the latest step both members saved and
# runs the group again from there (each member given its own state of that
# step), not from the beginning, and the outputs are those of an
# uninterrupted run. A real wsig, wpool serve --sig and three real wrun -j 1.
. "$(dirname "$0")/pool_common.sh"

start_wsig
POOL_ARGS="--sig ws://127.0.0.1:$SIG_PORT/ --worker-timeout 2s --heartbeat 500ms"
ROUNDS=30
start_pool
start_worker a -j 1
start_worker b -j 1
b=$WORKER_PID
wait_workers 2
stored() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk '$1 == "wpool_checkpoints_total" { print $2 }'; }

echo "{\"x\":7,\"rounds\":$ROUNDS,\"sleep_ms\":100}" |
  wpool submit steps --kernel "$W_KERNELS/ring_steps.so" --group 2 --timeout 60s -q
for i in $(seq 1 200); do
  [ "$(stored)" -ge 5 ] && break
  sleep 0.05
done
[ "$(stored)" -ge 5 ] || fail "the pool stored $(stored) common steps in 10 s: $(cat "$TMP/pool.log")"
kill -9 "$b"
wait "$b" 2>/dev/null || true
start_worker c -j 1

run timeout 60 wpool wait steps --timeout 50s
expect_rc 0
wpool results steps >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 1 ] || fail "expected 1 result: $(cat "$TMP/out.jsonl")"
# Rank r received from rank 1-r: 7000 + (1-r)*10 + round, for every round.
jq -e --argjson n "$ROUNDS" '.output | length == 2 and
  (to_entries | all(.key as $r | .value.got == [range($n) | 7000 + (1 - $r) * 10 + .]))' \
  "$TMP/out.jsonl" >/dev/null || fail "wrong outputs: $(cat "$TMP/out.jsonl")"
started=$(jq '[.output[].started] | min' "$TMP/out.jsonl")
[ "$(jq '[.output[].started] | unique | length' "$TMP/out.jsonl")" -eq 1 ] ||
  fail "the members resumed at different steps: $(cat "$TMP/out.jsonl")"
[ "$started" -ge 5 ] && [ "$started" -lt "$ROUNDS" ] ||
  fail "the run started again at round $started, not at its last common checkpoint"
grep -q "resuming from its checkpoint of step $started" "$TMP"/worker-[ac].log ||
  fail "no member said it resumed: $(cat "$TMP"/worker-[ac].log)"
grep -q "resumes from step $started" "$TMP/pool.log" || fail "pool: $(cat "$TMP/pool.log")"
echo "resumed both members at round $started of $ROUNDS"
