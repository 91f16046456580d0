# A failed member fails its group run as a whole, spoken by scripted
# workers (pool_group_worker.py) against a real wpool: a member's error, a
# lost worker or the shared deadline sends `abort` to the other members'
# workers, counts the task's attempt once and runs the task again with a
# new group id; late results of the aborted run are ignored; a task whose
# every run fails is failed with errors that name the rank.
. "$(dirname "$0")/pool_common.sh"
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || fail "python3-msgpack is not installed (scripts/deps.sh)"
start_pool
fake() { timeout 60 /usr/bin/python3 "$(dirname "$0")/pool_group_worker.py" "$PORT" "$@"; }
echo '{"x":1}' >"$TMP/one"

# A member's error; with --max-attempts 2 the re-run is allowed only if the
# failed run counted one attempt, not one per member.
wpool submit ab --kernel "$W_KERNELS/echo.so" --group 2 --max-attempts 2 -q <"$TMP/one"
run fake abort
expect_rc 0
expect_out ok
read -r first second < <(head -1 "$TMP/out")
case "$first" in g*a1x*) ;; *) fail "first group id '$first'" ;; esac
case "$second" in g*a2x*) ;; *) fail "second group id '$second'" ;; esac
run timeout 10 wpool wait ab --timeout 5s
expect_rc 0
wpool results ab | jq -e '.output | length == 2 and all(.[]; type == "object")' >/dev/null ||
  fail "result (a late result got in?): $(wpool results ab)"
grep -qE "group run $first of task [0-9]+ aborted: (aa|ab): rank 0 of $first: boom" "$TMP/pool.log" ||
  fail "pool log: $(grep aborted "$TMP/pool.log")"
wpool delete ab -q

# Every run fails: the task is failed after max_attempts runs, its errors
# naming each failed rank.
wpool submit bad --kernel "$W_KERNELS/echo.so" --group 2 --max-attempts 2 -q <"$TMP/one"
run fake fail
expect_rc 0
expect_out ok
run timeout 10 wpool wait bad --timeout 5s
expect_rc 1
wpool results bad >"$TMP/bad.jsonl"
jq -e '(.error | test("rank 0 of g[0-9]+a1x[a-z0-9]+: broken 0")) and
       (.error | test("rank 1 of g[0-9]+a2x[a-z0-9]+: broken 1"))' "$TMP/bad.jsonl" >/dev/null ||
  fail "errors: $(cat "$TMP/bad.jsonl")"
wpool delete bad -q

# A lost worker.
wpool submit lost --kernel "$W_KERNELS/echo.so" --group 2 -q <"$TMP/one"
run fake lost
expect_rc 0
expect_out ok
run timeout 10 wpool wait lost --timeout 5s
expect_rc 0
wpool delete lost -q

# The shared deadline (1 s per task, and the pool's grace).
wpool submit late --kernel "$W_KERNELS/echo.so" --group 2 --timeout 1s -q <"$TMP/one"
run fake deadline
expect_rc 0
expect_out ok
run timeout 10 wpool wait late --timeout 5s
expect_rc 0
grep -q '^wpool_group_aborts_total 5$' <(curl -sf "http://127.0.0.1:$PORT/metrics") ||
  fail "$(curl -sf "http://127.0.0.1:$PORT/metrics" | grep group)"
