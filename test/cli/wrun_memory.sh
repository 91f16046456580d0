# A kernel allocating without bound hits --memory and fails with "out of
# memory". (ASan needs unlimited address space, so its build skips this.)
. "$(dirname "$0")/common.sh"
if [ "${W_SANITIZE:-0}" = 1 ]; then echo "skipped under ASan: no address-space limit there"; exit 0; fi
printf '{"a":1}\n' >"$TMP/in"
run wrun -k "$W_KERNELS/membomb.so" -j 1 --memory 64 <"$TMP/in"
expect_rc 1
jq -e '.error | startswith("out of memory")' "$TMP/out" >/dev/null || fail "reason: $(cat "$TMP/out")"
expect_err "MB limit"
