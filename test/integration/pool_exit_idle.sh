# wrun --exit-idle: a worker with no task for that long drains and exits 0
# (a batch job's worker ends with the work). While tasks keep coming it
# stays, however long the campaign; an idle one exits without a campaign.
. "$(dirname "$0")/pool_common.sh"
start_pool
# 30 tasks of ~4 x 50 ms on one slot: ~6 s of work, longer than the 1 s idle.
for i in $(seq 1 30); do echo '{"steps":4}'; done >"$TMP/in"
run wpool submit idle --kernel "$W_KERNELS/steps.so" --timeout 60s <"$TMP/in"
expect_rc 0
start_worker busy -j 1 --exit-idle 1s
busy=$WORKER_PID
run timeout 120 wpool wait idle
expect_rc 0
[ "$(wpool results idle | wc -l)" = 30 ] || fail "not every task done: $(wpool status)"
# Done: the worker now has nothing, and exits 0 about 1 s later.
start=$(date +%s%N)
set +e
timeout 30 tail --pid="$busy" -f /dev/null
wait "$busy"
rc=$?
set -e
took_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 0
[ "$took_ms" -lt 15000 ] || fail "wrun took ${took_ms} ms to leave once idle"
grep -q "no task for 1 s: draining (--exit-idle)" "$TMP/worker-busy.log" ||
  fail "no --exit-idle line in the worker log: $(cat "$TMP/worker-busy.log")"
# The campaign lasted several times the idle time: the worker never left early.
[ "$(wpool results idle | jq -r .worker | sort -u | wc -l)" = 1 ] || fail "results from more than one worker"

# Without any campaign, an idle worker leaves too; without --exit-idle it stays.
start_worker stays -j 1
stays=$WORKER_PID
start_worker leaves -j 1 --exit-idle 500ms
leaves=$WORKER_PID
set +e
timeout 30 tail --pid="$leaves" -f /dev/null
wait "$leaves"
rc=$?
set -e
expect_rc 0
kill -0 "$stays" 2>/dev/null || fail "the worker without --exit-idle left"

# A bad duration is a usage error.
run wrun "$POOL" --exit-idle soon
expect_rc 2
expect_err "exit-idle"
