# Two workers share a campaign of 10 ms tasks evenly, even right after a
# campaign of no-op tasks: the queue depth a worker gets follows the task
# time of the campaign it works on (once, the no-op tasks' time made one
# worker take all 200 of the slow ones while the other sat idle).
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker a -j 1
start_worker b -j 1
wait_workers 2
datasets 20000 | wpool submit noop --kernel "$W_KERNELS/noop.so" -q
run timeout 120 wpool wait noop
expect_rc 0
datasets 200 | wpool submit busy --kernel "$W_KERNELS/busy10ms.so" -q
run timeout 120 wpool wait busy
expect_rc 0
wpool results busy >"$TMP/busy.jsonl"
[ "$(wc -l <"$TMP/busy.jsonl")" -eq 200 ] || fail "expected 200 results, got $(wc -l <"$TMP/busy.jsonl")"
for w in a b; do
  n=$(jq -r .worker "$TMP/busy.jsonl" | grep -cxF "$(worker_id $w)" || true)
  [ "$n" -ge 70 ] || fail "worker $w ran $n of the 200 slow tasks (expected about 100)"
done
