# -f msgpack writes a stream of maps that wrun (and any reader) accepts.
. "$(dirname "$0")/common.sh"
wgen range 0 1000 --step 10 -f msgpack >"$TMP/r.msgpack"
first=$(head -c 1 "$TMP/r.msgpack" | od -An -tx1 | tr -d ' ')
[ "$first" = "82" ] || fail "first byte $first is not a 2-entry map"
run wrun -k "$W_KERNELS/echo.so" -j 1 --keep-order --no-input <"$TMP/r.msgpack"
expect_rc 0
[ "$(wc -l <"$TMP/out")" -eq 100 ] || fail "expected 100 records"
[ "$(tail -1 "$TMP/out" | jq -c .output)" = '{"min":990,"max":1000}' ] || fail "last record"
