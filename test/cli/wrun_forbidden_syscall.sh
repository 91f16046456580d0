# A kernel calling socket() is stopped by seccomp and the task names the call.
. "$(dirname "$0")/common.sh"
printf '{"a":1}\n{"b":2}\n' >"$TMP/in"
run wrun -k "$W_KERNELS/netcall.so" -j 1 --keep-going <"$TMP/in"
expect_rc 1
jq -e -s 'all(.[]; .error == "forbidden system call: socket (the sandbox allows only computing)")' "$TMP/out" >/dev/null ||
  fail "reason: $(cat "$TMP/out")"
expect_err "2 of 2 tasks failed"
