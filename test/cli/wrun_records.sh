# Results of a simple kernel come back one per dataset with task, seq, input,
# output, worker and ms.
. "$(dirname "$0")/common.sh"
for i in 1 2 3 4 5; do echo "{\"x\":$i}"; done >"$TMP/in"
run wrun -k "$W_KERNELS/echo.so" -j 2 <"$TMP/in"
expect_rc 0
[ "$(wc -l <"$TMP/out")" -eq 5 ] || fail "expected 5 records"
jq -e -s 'map(.output.x) | sort == [1,2,3,4,5]' "$TMP/out" >/dev/null || fail "outputs differ"
jq -e -s 'all(.[]; .input == .output and (.task|type)=="number" and (.seq|type)=="number" and (.worker|type)=="string" and (.ms|type)=="number")' "$TMP/out" >/dev/null || fail "record fields"
expect_err "5 tasks: 5 ok, 0 failed"
# One dataset is "1 task", not "1 tasks".
echo '{"x":1}' >"$TMP/one"
run wrun -k "$W_KERNELS/echo.so" <"$TMP/one"
expect_rc 0
expect_err "wrun: 1 task: 1 ok, 0 failed"
