# Hostile bytes on the pool protocol: every field of every worker and client
# message, sent with every wrong type to a live pool (pool_protocol.py), is
# answered with an error naming the field and the connection is closed; the
# pool lives through all of it, and a real worker then completes a campaign
# on it. (A results item whose `error` was an integer crashed the pool.)
. "$(dirname "$0")/pool_common.sh"
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || fail "python3-msgpack is not installed (scripts/deps.sh)"
start_pool
# Queued before any worker: the test's workers hold real leases meanwhile.
# Each connection refused for a malformed message fails the leases it held,
# an attempt each (pool_violation.sh): enough attempts for all 600 cases.
datasets 200 >"$TMP/in"
run wpool submit proto --kernel "$W_KERNELS/echo.so" --max-attempts 1000 <"$TMP/in"
expect_rc 0
run timeout 300 /usr/bin/python3 "$(dirname "$0")/pool_protocol.py" "$PORT"
# On failure: how many cases failed, the first of them and how it ended.
[ "$rc" -eq 0 ] || fail "$(grep -c '^FAIL' "$TMP/out") cases failed: $(grep '^FAIL' "$TMP/out" | head -20)
... $(tail -3 "$TMP/out" "$TMP/err")"
kill -0 "$POOL_PID" || fail "the pool died: $(tail -5 "$TMP/pool.log")"
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || fail "the pool does not answer HTTP"
# A real worker on the same pool finishes the campaign, with the right outputs.
start_worker real -j 2
run timeout 60 wpool wait proto
expect_rc 0
wpool results proto >"$TMP/pool.jsonl"
[ "$(wc -l <"$TMP/pool.jsonl")" -eq 200 ] || fail "expected 200 results, got $(wc -l <"$TMP/pool.jsonl")"
jq -e -s --arg id "$(worker_id real)" 'all(.[]; .worker == $id)' "$TMP/pool.jsonl" >/dev/null ||
  fail "a result not from the real worker: $(jq -c '[.task, .worker]' "$TMP/pool.jsonl" | head)"
wrun -k "$W_KERNELS/echo.so" -q <"$TMP/in" >"$TMP/filter.jsonl"
jq -c '[.seq, .output]' "$TMP/pool.jsonl" | sort >"$TMP/a"
jq -c '[.seq, .output]' "$TMP/filter.jsonl" | sort >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "pool and filter-mode outputs differ"
