# One worker cannot fail everything: a worker that announces 1000 slots and
# answers every task with an error used to take most tasks and their
# retries and fail them all. Now it earns its slots one result at a time, a
# task it failed is retried on another worker, and once it has failed far
# more than the others it is quarantined (wpool workers says why). Three
# campaigns complete on the two honest workers with no task failed.
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker a -j 1
start_worker b -j 1
wait_workers 2
PYTHONPATH="$W_SRC/test/integration" /usr/bin/python3 "$W_SRC/test/integration/pool_platform_worker.py" \
  "$PORT" broken linux-x86_64 fail 1000 2>>"$TMP/broken.log" &
PIDS+=("$!")
wait_workers 3
for c in one two three; do
  datasets 100 | sed "s/\"x\"/\"$c\"/" | wpool submit "$c" --kernel "$W_KERNELS/echo.so" --max-attempts 3 >/dev/null
done
for c in one two three; do
  run timeout 60 wpool wait "$c"
  [ "$rc" -eq 0 ] || fail "campaign $c: $(cat "$TMP/err"); $(wpool status "$c")"
done
wpool workers --json >"$TMP/w.json"
jq -e '.[] | select(.name == "broken") | .quarantined.times >= 1' "$TMP/w.json" >/dev/null ||
  fail "the broken worker was not quarantined: $(cat "$TMP/w.json")"
jq -e '[.[] | select(.name != "broken") | .quarantined] == [null, null]' "$TMP/w.json" >/dev/null ||
  fail "an honest worker was quarantined: $(cat "$TMP/w.json")"
run wpool workers
expect_out "quarantined for"
expect_out "while the other workers failed"
grep -qE '^wpool_quarantines_total [1-9]' <(curl -sf "http://127.0.0.1:$PORT/metrics") || fail "metrics"
