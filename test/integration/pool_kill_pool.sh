# kill -9 the pool mid-run and restart it on the same file and port: the
# workers reconnect, nothing acknowledged is lost, nothing is stored twice.
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker a -j 2
datasets 400 >"$TMP/in"
run wpool submit busy --kernel "$W_KERNELS/busy10ms.so" <"$TMP/in"
expect_rc 0
sleep 0.8
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
POOL_STARTS=2 start_pool "$PORT"
run timeout 120 wpool wait busy
expect_rc 0
wpool results busy >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 400 ] || fail "expected 400 results, got $(wc -l <"$TMP/out.jsonl")"
[ "$(jq -r .seq "$TMP/out.jsonl" | sort -u | wc -l)" -eq 400 ] || fail "duplicate results"
grep -q "reconnecting" "$TMP/worker-a.log" || fail "worker did not reconnect"
