# A task that always crashes is failed after --max-attempts with every
# attempt's error; the rest of the campaign completes and wait exits 1.
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker a -j 2
{ for i in $(seq 1 20); do echo "{\"x\":$i}"; done; echo '{"crash":1}'; } >"$TMP/in"
run wpool submit crashy --kernel "$W_KERNELS/crash.so" --max-attempts 3 <"$TMP/in"
expect_rc 0
run timeout 60 wpool wait crashy
expect_rc 1
expect_err "campaign 'crashy': 1 of 21 tasks failed"
wpool results crashy >"$TMP/out.jsonl"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 21 ] || fail "expected 21 records"
err=$(jq -r 'select(.error) | .error' "$TMP/out.jsonl")
[ "$(grep -o 'crashed: SIGSEGV' <<<"$err" | wc -l)" -eq 3 ] || fail "expected 3 attempts' errors, got: $err"
wpool status crashy --json >"$TMP/status.json"
jq -e '.campaigns[0] | .done == 20 and .failed == 1 and .total == 21 and .complete' "$TMP/status.json" >/dev/null ||
  fail "status: $(cat "$TMP/status.json")"
