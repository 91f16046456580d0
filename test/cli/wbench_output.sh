# wbench prints per-core and total figures; --json is one object jq reads.
. "$(dirname "$0")/common.sh"
run wbench --seconds 0.1
expect_rc 0
expect_out "Dhrystones/s"
expect_out "DMIPS"
run wbench --seconds 0.1 -j 2 --json
expect_rc 0
jq -e '.jobs == 2 and (.per_core | length) == 2 and .dhrystones_per_second > 0 and (.dmips - .dhrystones_per_second / 1757 | fabs) < 1' "$TMP/out" >/dev/null ||
  fail "json: $(cat "$TMP/out")"
run wbench --seconds -1
expect_rc 2
expect_err "wbench: error: --seconds"
run wbench -j 0 --seconds 0.05
expect_rc 0
