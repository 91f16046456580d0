# Client commands: wait's exit codes, status --json fields, workers --json,
# /metrics in Prometheus text, --once-key, pause/resume, errors.
. "$(dirname "$0")/pool_common.sh"
start_pool
datasets 50 >"$TMP/in"
run wpool submit nightly --kernel "$W_KERNELS/echo.so" --once-key 2026-11-22 <"$TMP/in"
expect_rc 0
run wpool submit nightly --once-key 2026-11-22 <"$TMP/in"
expect_rc 0
expect_err "once-key '2026-11-22' was submitted before; nothing added"
# No workers yet: wait times out with 124, as timeout(1).
run wpool wait nightly --timeout 300ms
expect_rc 124
expect_err "not complete after 0.3 s (0 of 50 done)"
wpool status nightly --json >"$TMP/s.json"
jq -e '.campaigns[0] | .name == "nightly" and .total == 50 and .queued == 50 and .state == "running"' "$TMP/s.json" >/dev/null ||
  fail "status: $(cat "$TMP/s.json")"
run wpool pause nightly
expect_rc 0
start_worker a -j 2
sleep 0.5
[ "$(wpool status nightly --json | jq '.campaigns[0].done')" -eq 0 ] || fail "paused campaign ran"
run wpool resume nightly
expect_rc 0
run timeout 30 wpool wait nightly
expect_rc 0
wpool workers --json >"$TMP/w.json"
jq -e '.[0] | has("id") and has("name") and has("platform") and has("slots") and has("score") and has("tasks_done") and has("tasks_failed") and has("flagged") and has("last_seen")' "$TMP/w.json" >/dev/null ||
  fail "workers: $(cat "$TMP/w.json")"
jq -e '.[0].tasks_done == 50 and .[0].name == "a" and .[0].score > 0' "$TMP/w.json" >/dev/null || fail "workers counts: $(cat "$TMP/w.json")"
curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -q '^wpool_tasks{state="done"} 50$' "$TMP/metrics" || fail "metrics: $(cat "$TMP/metrics")"
# Every non-comment line is "name{labels} value" or "name value".
! grep -vE '^(# (HELP|TYPE) .*|[a-z_]+(\{[^}]*\})? -?[0-9.e+]+)$' "$TMP/metrics" || fail "bad metrics line"
curl -sf "http://127.0.0.1:$PORT/api/status" | jq -e '.campaigns[0].done == 50' >/dev/null || fail "/api/status"
run wpool results nope
expect_rc 66
expect_err "wpool: error: no campaign 'nope'"
run wpool status --pool ws://127.0.0.1:1 --retry-for 1s
expect_rc 75
expect_err "is 'wpool serve' running there?"
