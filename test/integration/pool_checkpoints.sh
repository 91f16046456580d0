# The pool's side of checkpoints, spoken byte by byte by a fake worker
# (pool_fake_worker.py): the lease holder's latest checkpoint is kept, sent
# with the task when it is handed out again, and deleted once the task is
# done, also across a kill -9 of the pool; a checkpoint for a task the
# sender does not hold is ignored.
. "$(dirname "$0")/pool_common.sh"
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || fail "python3-msgpack is not installed (scripts/deps.sh)"
start_pool
echo '{"x":1}' | wpool submit resume --kernel "$W_KERNELS/echo.so" -q
fake() { timeout 30 /usr/bin/python3 "$(dirname "$0")/pool_fake_worker.py" "$PORT" "$@"; }
task=$(fake a) || fail "fake worker a: $task"
# Stored durably: kill -9 the pool once it has the checkpoints, restart it.
for _ in $(seq 1 100); do
  grep -q '^wpool_checkpoints_total 2$' <(curl -sf "http://127.0.0.1:$PORT/metrics") && break
  sleep 0.02
done
sleep 0.2  # the group commit at the end of that loop turn
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
POOL_STARTS=2 start_pool "$PORT"
run fake b "$task"
expect_rc 0
expect_out ok
run timeout 10 wpool wait resume --timeout 5s
expect_rc 0
wpool results resume | jq -e '.output == {"resumed": true} and .worker == "fb"' >/dev/null ||
  fail "result: $(wpool results resume)"
curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -q '^wpool_checkpoints_ignored_total 1$' "$TMP/metrics" || fail "$(grep checkpoints "$TMP/metrics")"
grep -q '^wpool_checkpoints_kept 0$' "$TMP/metrics" || fail "$(grep checkpoints "$TMP/metrics")"
# Deleted from the file too, not just from memory.
left=$(/usr/bin/python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM checkpoints").fetchone()[0])' "$TMP/pool.db")
[ "$left" = 0 ] || fail "$left checkpoints left in the store"
