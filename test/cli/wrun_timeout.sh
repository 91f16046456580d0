# A task looping past --timeout is killed and fails with "timeout"; the rest
# complete on the restarted slot.
. "$(dirname "$0")/common.sh"
printf '{"a":1}\n{"loop":1}\n{"b":2}\n' >"$TMP/in"
start=$(date +%s)
run wrun -k "$W_KERNELS/loop.so" -j 2 --keep-going --keep-order --timeout 500ms <"$TMP/in"
expect_rc 1
jq -e -s '.[1].error == "timeout: still running after 0.5 s"' "$TMP/out" >/dev/null || fail "reason: $(cat "$TMP/out")"
jq -e -s '[.[0].output.a, .[2].output.b] == [1,2]' "$TMP/out" >/dev/null || fail "others lost"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "took too long"
