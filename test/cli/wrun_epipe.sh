# `| head -1` closing the pipe ends wrun quickly and quietly with status 0.
. "$(dirname "$0")/common.sh"
python3 -c "
import sys
for i in range(200000): sys.stdout.write('{\"x\":%d}\n' % i)" >"$TMP/in"
set +e
wrun -k "$W_KERNELS/echo.so" -j 2 <"$TMP/in" 2>"$TMP/err" | head -1 >"$TMP/out"
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" -eq 0 ] || fail "wrun exited ${status[0]}"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "no first line"
grep -q error "$TMP/err" && fail "error on stderr: $(cat "$TMP/err")"
exit 0
