# Bad usage, a missing kernel, a kernel without w_main and malformed input
# each give their own exit code and a message saying what to do.
. "$(dirname "$0")/common.sh"
run wrun
expect_rc 2
expect_err "wrun: error: --kernel is required (or a pool URL for pool mode)"

run wrun -k "$TMP/nope.so" </dev/null
expect_rc 66
expect_err "wrun: error: kernel '$TMP/nope.so': No such file or directory"

echo "not a kernel" >"$TMP/bad.so"
run wrun -k "$TMP/bad.so" </dev/null
expect_rc 65
expect_err "wrun: error: kernel '"
expect_err "load kernel"

run wrun -k "$W_KERNELS/echo.so" -j 0 </dev/null
expect_rc 2
expect_err "--jobs"

run wrun -k "$W_KERNELS/echo.so" --timeout soon </dev/null
expect_rc 2
expect_err "not a duration: 'soon'"

printf '{"x":1}\n{"x":\n{"x":3}\n' >"$TMP/in"
run wrun -k "$W_KERNELS/echo.so" -j 1 <"$TMP/in"
expect_rc 65
expect_err "wrun: error: stdin line 2: invalid JSON"
expect_out '"output":{"x":1}'

printf 'hello\n' >"$TMP/in"
run wrun -k "$W_KERNELS/echo.so" <"$TMP/in"
expect_rc 65
expect_err "input is neither JSON Lines nor MessagePack"

run wrun -k "$W_KERNELS/echo.so" --static '{"broken' </dev/null
expect_rc 65
expect_err "static dataset (--static): invalid JSON"
