# A cancelled campaign is over: `wpool wait` on it returns at once with its
# own exit status (3) instead of waiting for tasks nobody will run, its
# status shows no ETA, and it refuses further datasets (exit 65).
. "$(dirname "$0")/pool_common.sh"
start_pool
datasets 50 >"$TMP/in"
run wpool submit doomed --kernel "$W_KERNELS/echo.so" <"$TMP/in"
expect_rc 0
run wpool cancel doomed
expect_rc 0

# No worker ever ran a task: without the cancel this would wait forever.
start=$(date +%s%N)
run timeout 20 wpool wait doomed
expect_rc 3
expect_err "wpool: error: campaign 'doomed' was cancelled with 0 of 50 tasks finished"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -lt 5000 ] || fail "wait on a cancelled campaign took $elapsed_ms ms"
wpool status doomed --json >"$TMP/s.json"
jq -e '.campaigns[0] | .state == "cancelled" and .eta_s == -1' "$TMP/s.json" >/dev/null ||
  fail "status of a cancelled campaign: $(cat "$TMP/s.json")"

# Appending to it is refused, and nothing is added.
run wpool submit doomed <"$TMP/in"
expect_rc 65
expect_err "wpool: error: campaign 'doomed' was cancelled: it takes no more datasets"
[ "$(wpool status doomed --json | jq '.campaigns[0].total')" = 50 ] || fail "datasets were added"

# A campaign that finished before it was cancelled is still just complete.
start_worker a -j 2
run wpool submit finished --kernel "$W_KERNELS/echo.so" <"$TMP/in"
expect_rc 0
run timeout 60 wpool wait finished
expect_rc 0
run wpool cancel finished
expect_rc 0
run timeout 20 wpool wait finished
expect_rc 0
