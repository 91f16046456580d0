# kill -9 the pool mid-run and restart it on the same file and port: the
# workers reconnect, nothing acknowledged is lost, nothing is stored twice.
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker a -j 2
datasets 400 >"$TMP/in"
run wpool submit busy --kernel "$W_KERNELS/busy10ms.so" <"$TMP/in"
expect_rc 0
# Kill it mid-run: once the worker is connected and some results are in (a
# fixed sleep raced a slow first hello on a loaded machine).
wait_workers 1
for _ in $(seq 1 200); do
  [ "$(wpool status busy --json | jq '.campaigns[0].done')" -ge 20 ] && break
  sleep 0.05
done
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
POOL_STARTS=2 start_pool "$PORT"
run timeout 120 wpool wait busy
expect_rc 0
wpool results busy >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 400 ] || fail "expected 400 results, got $(wc -l <"$TMP/out.jsonl")"
[ "$(jq -r .seq "$TMP/out.jsonl" | sort -u | wc -l)" -eq 400 ] || fail "duplicate results"
grep -q "unreachable.*attempt" "$TMP/worker-a.log" || fail "worker did not reconnect"
