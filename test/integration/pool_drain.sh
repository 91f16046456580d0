# SIGTERM drains wrun: the tasks on its slots finish and their results reach
# the pool, the ones it was sent and had not started go back in its bye (not
# counted as attempts), and it exits 0 without waiting for more; another
# worker then completes the campaign with exactly one result per task, none
# failed, none resumed from a checkpoint (nothing was stopped mid-run).
. "$(dirname "$0")/pool_common.sh"
POOL_ARGS="--heartbeat 500ms"
start_pool
# 20 tasks of ~4 x 50 ms on one slot: ~4 s of work on a quiet machine.
for i in $(seq 1 20); do echo '{"steps":4}'; done >"$TMP/in"
run wpool submit drain --kernel "$W_KERNELS/steps.so" --timeout 60s <"$TMP/in"
expect_rc 0
start_worker first -j 1
first=$WORKER_PID
wait_workers 1
for i in $(seq 1 200); do
  [ "$(wpool results drain 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.05
done
[ "$(wpool results drain | wc -l)" -ge 2 ] ||
  fail "no results in 10 s; worker log: $(cat "$TMP/worker-first.log")"
before=$(wpool results drain | wc -l)
kill -TERM "$first"
start=$(date +%s%N)
set +e
wait "$first"
rc=$?
set -e
took_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 0
# The tasks on the slot (~200 ms each, more on a loaded machine) finish;
# nothing waits for the rest.
[ "$took_ms" -lt 20000 ] || fail "wrun took ${took_ms} ms to drain"
line=$(grep -o 'draining: finishing [0-9]* running tasks, handing back [0-9]*' \
  "$TMP/worker-first.log") || fail "no drain line in the worker log: $(cat "$TMP/worker-first.log")"
running=$(echo "$line" | awk '{print $3}')
[ "$running" -ge 1 ] || fail "nothing was running at the drain: $line"
done_first=$(wpool results drain | wc -l)
[ "$done_first" -ge $((before + running)) ] ||
  fail "the running tasks' results did not all arrive: $before before, $running running, $done_first after"

start_worker second -j 2
run timeout 60 wpool wait drain
expect_rc 0
wpool results drain >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 20 ] || fail "expected 20 results, got $(wc -l <"$TMP/out.jsonl")"
[ "$(jq -r .seq "$TMP/out.jsonl" | sort -u | wc -l)" -eq 20 ] || fail "duplicate or missing results"
[ -z "$(jq -c 'select(.error != null)' "$TMP/out.jsonl")" ] ||
  fail "failed results: $(jq -c 'select(.error != null)' "$TMP/out.jsonl")"
[ "$(jq -r '.output.started' "$TMP/out.jsonl" | sort -u)" = 0 ] ||
  fail "a task was resumed, so it was stopped mid-run: $(cat "$TMP/out.jsonl")"
