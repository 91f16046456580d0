# SIGTERM (or SIGINT, SIGHUP) sent to wrun's whole process group, as Ctrl-C
# on a terminal, `srun` and a plain `scancel` do, drains wrun like a SIGTERM
# to wrun alone: the slot processes ignore those signals (wrun ends its
# slots itself), so the running tasks finish instead of dying mid-step.
# Before, the kernels were killed by the group's signal and their tasks
# resumed elsewhere from a checkpoint (found by the Slurm test, issue 17).
. "$(dirname "$0")/pool_common.sh"
POOL_ARGS="--heartbeat 500ms"
start_pool
# 20 tasks of ~8 x 50 ms on one slot, checkpointing after every step.
for i in $(seq 1 20); do echo '{"steps":8}'; done >"$TMP/in"
run wpool submit pgroup --kernel "$W_KERNELS/steps.so" --timeout 60s <"$TMP/in"
expect_rc 0
# A process group of its own, as a terminal's job, srun or a batch job has.
setsid wrun "$POOL" --name first -j 1 --cache "$TMP/cache-first" 2>>"$TMP/worker-first.log" &
first=$!
PIDS+=("$first")
wait_workers 1
for i in $(seq 1 200); do
  [ "$(wpool results pgroup 2>/dev/null | wc -l)" -ge 1 ] && break
  sleep 0.05
done
[ "$(wpool results pgroup | wc -l)" -ge 1 ] ||
  fail "no result in 10 s; worker log: $(cat "$TMP/worker-first.log")"
sleep 0.1  # into the next task's steps
kill -TERM -- "-$first"
set +e
wait "$first"
rc=$?
set -e
expect_rc 0
grep -q 'draining: finishing' "$TMP/worker-first.log" ||
  fail "wrun did not drain: $(cat "$TMP/worker-first.log")"

start_worker second -j 2
run timeout 60 wpool wait pgroup
expect_rc 0
wpool results pgroup >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 20 ] || fail "expected 20 results, got $(wc -l <"$TMP/out.jsonl")"
[ -z "$(jq -c 'select(.error != null)' "$TMP/out.jsonl")" ] ||
  fail "failed results: $(jq -c 'select(.error != null)' "$TMP/out.jsonl")"
[ "$(jq -r '.output.started' "$TMP/out.jsonl" | sort -u)" = 0 ] ||
  fail "a task was stopped mid-run and resumed: $(jq -c 'select(.output.started != 0) | .output' "$TMP/out.jsonl")"
