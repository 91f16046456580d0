# Without --keep-going wrun stops reading at the first failure, finishes what
# is running and says how to go on.
. "$(dirname "$0")/common.sh"
{ echo '{"crash":1}'; for i in $(seq 1 2000); do echo "{\"x\":$i}"; done; } >"$TMP/in"
run wrun -k "$W_KERNELS/crash.so" -j 1 <"$TMP/in"
expect_rc 1
expect_err "(stopped at the first failure; --keep-going runs the rest)"
[ "$(wc -l <"$TMP/out")" -lt 2001 ] || fail "did not stop"
