# msgpack in and out: -f msgpack writes maps that wrun (and jq via JSON)
# read back; bytes survive as bin / {"$b64"}.
. "$(dirname "$0")/common.sh"
printf '{"blob":{"$b64":"AAEC/w=="},"n":1}\n{"blob":{"$b64":""},"n":2}\n' >"$TMP/in"
run wrun -k "$W_KERNELS/echo.so" -j 1 --keep-order -f msgpack <"$TMP/in"
expect_rc 0
first=$(head -c 1 "$TMP/out" | od -An -tx1 | tr -d ' ')
[ "$first" = "86" ] || fail "first byte $first is not a 6-entry map"
# Feed the msgpack results back through echo to get JSON again.
cp "$TMP/out" "$TMP/res.msgpack"
run wrun -k "$W_KERNELS/echo.so" -j 1 --keep-order --no-input <"$TMP/res.msgpack"
expect_rc 0
jq -e -s '.[0].output.output.blob["$b64"] == "AAEC/w==" and .[1].output.input.n == 2' "$TMP/out" >/dev/null ||
  fail "round trip: $(cat "$TMP/out")"
