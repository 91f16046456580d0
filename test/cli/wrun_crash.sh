# A kernel that crashes fails only its task with the signal; the slot is
# restarted, the other tasks complete, and wrun exits 1.
. "$(dirname "$0")/common.sh"
printf '{"a":1}\n{"crash":1}\n{"b":2}\n{"c":3}\n' >"$TMP/in"
run wrun -k "$W_KERNELS/crash.so" -j 1 --keep-going --keep-order <"$TMP/in"
expect_rc 1
expect_err "wrun: error: 1 of 4 tasks failed"
expect_err "slot restarts"
jq -e -s '.[1].error == "crashed: SIGSEGV (Segmentation fault)"' "$TMP/out" >/dev/null ||
  fail "crash reason: $(cat "$TMP/out")"
jq -e -s '[.[0].output.a, .[2].output.b, .[3].output.c] == [1,2,3]' "$TMP/out" >/dev/null || fail "others lost"
