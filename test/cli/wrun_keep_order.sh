# --keep-order writes results in input order even with 2 slots.
. "$(dirname "$0")/common.sh"
seq 0 4999 | sed 's/.*/{"x":&}/' >"$TMP/in"
run wrun -k "$W_KERNELS/echo.so" -j 2 --keep-order --no-input <"$TMP/in"
expect_rc 0
jq -s -e '[.[].seq] == [range(0;5000)] and ([.[].output.x] == [range(0;5000)])' "$TMP/out" >/dev/null || fail "out of order"
jq -s -e 'map(has("input")) | any | not' "$TMP/out" >/dev/null || fail "--no-input ignored"
