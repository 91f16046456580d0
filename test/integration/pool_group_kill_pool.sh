# kill -9 of the pool while a group run is leased: after the restart the
# task is queued again (no attempt counted: the run is attempt 1 again),
# runs as a new group and completes.
. "$(dirname "$0")/pool_common.sh"
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || fail "python3-msgpack is not installed (scripts/deps.sh)"
start_pool
fake() { timeout 60 /usr/bin/python3 "$(dirname "$0")/pool_group_worker.py" "$PORT" "$@"; }
echo '{"x":1}' | wpool submit held --kernel "$W_KERNELS/echo.so" --group 2 -q
fake hold >"$TMP/hold.out" 2>&1 &
hold=$!
PIDS+=("$hold")
for _ in $(seq 1 200); do
  [ -s "$TMP/hold.out" ] && break
  sleep 0.05
done
held=$(head -1 "$TMP/hold.out")
case "$held" in g*a1x*) ;; *) fail "hold: $(cat "$TMP/hold.out")" ;; esac
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
wait "$hold" || fail "hold: $(cat "$TMP/hold.out")"
POOL_STARTS=2 start_pool "$PORT"
run fake pair 1
expect_rc 0
expect_out ok
again=$(head -1 "$TMP/out")
run timeout 10 wpool wait held --timeout 5s
expect_rc 0
wpool results held | jq -e '.output | length == 2' >/dev/null || fail "$(wpool results held)"
case "$again" in g*a1x*) ;; *) fail "after the restart the run is '$again', not attempt 1 again" ;; esac
[ "$again" != "$held" ] || fail "the same group id $held after the restart"
