# `wgen ... | head -1` on an endless range stops at once, quietly, with 0.
. "$(dirname "$0")/common.sh"
start=$(date +%s)
set +e
wgen range 0 1e15 --step 1 2>"$TMP/err" | head -1 >"$TMP/out"
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" -eq 0 ] || fail "wgen exited ${status[0]}"
[ "$(cat "$TMP/out")" = '{"min":0,"max":1}' ] || fail "first line"
[ ! -s "$TMP/err" ] || fail "stderr: $(cat "$TMP/err")"
[ $(($(date +%s) - start)) -lt 5 ] || fail "took too long"
