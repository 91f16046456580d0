# A generator kernel runs sandboxed, call after call, until it returns nothing.
. "$(dirname "$0")/common.sh"
run wgen kernel "$W_KERNELS/gen_squares.so" --static '{"n":5}'
expect_rc 0
[ "$(jq -s -c 'map(.x)' "$TMP/out")" = "[0,1,4,9,16]" ] || fail "output: $(cat "$TMP/out")"
run wgen kernel "$W_KERNELS/spin.so" --timeout 300ms
expect_rc 1
expect_err "generator call 0: timeout: still running after 0.3 s"
run wgen kernel "$W_KERNELS/netcall.so"
expect_rc 1
expect_err "forbidden system call: socket"
