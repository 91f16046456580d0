# A kernel that writes junk frames to its socket, dies in the middle of a
# frame, or returns more than the result limit fails that task with the
# reason; wrun goes on with --keep-going and the other tasks succeed.
. "$(dirname "$0")/common.sh"
printf '{"x":1}\n{"junk":1}\n{"x":2}\n{"die_mid_frame":1}\n{"x":3}\n' >"$TMP/in"
run wrun -k "$W_KERNELS/poison.so" -j 1 --keep-going --keep-order <"$TMP/in"
expect_rc 1
jq -c '[.seq, (.output.x // null), (.error // null)]' "$TMP/out" >"$TMP/got"
grep -qF '[0,1,null]' "$TMP/got" || fail "task 0: $(cat "$TMP/got")"
grep -qF '[2,2,null]' "$TMP/got" || fail "task 2: $(cat "$TMP/got")"
grep -qF '[4,3,null]' "$TMP/got" || fail "task 4: $(cat "$TMP/got")"
grep -q '^\[1,null,"protocol violation by kernel: ' "$TMP/got" || fail "junk: $(cat "$TMP/got")"
grep -q '^\[3,null,"' "$TMP/got" || fail "mid-frame: $(cat "$TMP/got")"
expect_err "2 of 5 tasks failed"
