# --group K: each dataset runs as K coupled members on K slots, their
# messages carried by wrun; the output is the array of the members' outputs
# by rank. A member that crashes fails its dataset (naming the rank), the
# others are stopped, and the next datasets still succeed. w_recv's timeout,
# the error codes and the barrier (ring.cc, group_probe.c).
. "$(dirname "$0")/common.sh"

# A ring of 4 over 10 datasets: rank r gets x*1000 + ((r+3)%4)*10 + round.
run bash -c "wgen range 0 10 --step 1 | timeout 60 wrun -k '$W_KERNELS/ring.so' --group 4 -j 4"
expect_rc 0
[ "$(wc -l <"$TMP/out")" -eq 10 ] || fail "expected 10 records: $(cat "$TMP/out")"
jq -e -s 'all(.[]; .input.min as $x | .output ==
  [range(4) | . as $r | [range(3) | $x*1000 + ((($r+3)%4)*10) + .]])' "$TMP/out" >/dev/null ||
  fail "ring outputs: $(cat "$TMP/out")"

# More slots than K, several rounds, order kept.
run bash -c "wgen range 0 6 --step 1 | timeout 60 wrun -k '$W_KERNELS/ring.so' --group 2 -j 5 --keep-order"
expect_rc 0
jq -e -s '[.[].output] == [range(6) as $x | [[$x*1000+10,$x*1000+11,$x*1000+12],[$x*1000,$x*1000+1,$x*1000+2]]]' \
  "$TMP/out" >/dev/null || fail "K=2 on 5 slots: $(cat "$TMP/out")"

# Rank 2 aborts on the second dataset: that one fails, the others succeed.
printf '{"x":1}\n{"x":2,"abort_rank":2}\n{"x":3}\n{"x":4}\n' >"$TMP/in"
run timeout 60 wrun -k "$W_KERNELS/ring.so" --group 4 -j 4 --keep-order --keep-going <"$TMP/in"
expect_rc 1
expect_err "wrun: error: 1 of 4 tasks failed"
jq -e -s '.[1].error == "rank 2: crashed: SIGABRT (Aborted)"' "$TMP/out" >/dev/null ||
  fail "crash of rank 2: $(cat "$TMP/out")"
jq -e -s '[.[0,2,3].output[1][0]] == [1000,3000,4000]' "$TMP/out" >/dev/null ||
  fail "datasets after the crash: $(cat "$TMP/out")"

# A member waiting for a message nobody sends gets W_ETIMEOUT (C++: an error naming the call).
run timeout 60 wrun -k "$W_KERNELS/ring.so" --group 4 -j 4 <<<'{"x":1,"mute_rank":1,"timeout_ms":100}'
expect_rc 1
jq -e '.error == "rank 2: w_recv from rank 1: timed out after 100 ms"' "$TMP/out" >/dev/null ||
  fail "recv timeout: $(cat "$TMP/out")"
run timeout 30 wrun -k "$W_KERNELS/group_probe.so" --group 2 -j 2 <<<'{}'
expect_rc 0
jq -e '.output == [[-1,-3,-3,-1,0,2,104],[0,0]]' "$TMP/out" >/dev/null ||
  fail "error codes and barrier: $(cat "$TMP/out")"

# Not coupled: the calls answer W_ERANK.
run wrun -k "$W_KERNELS/ring.so" -j 1 <<<'{"x":1}'
expect_rc 1
jq -e '.error | startswith("w_send to rank 0: no such rank")' "$TMP/out" >/dev/null ||
  fail "uncoupled send: $(cat "$TMP/out")"

# Fewer slots than K is a usage error.
run wrun -k "$W_KERNELS/ring.so" --group 4 -j 2 <<<'{}'
expect_rc 2
expect_err "--group 4 runs each dataset on 4 slots at once: give -j 4 or more (got -j 2)"
