# Poison tasks end: a result over the pool's --max-frame, junk frames from
# the kernel and a slot dying mid-frame each fail their task with the reason
# after --max-attempts (they used to drop the worker's connection and come
# back for ever without counting an attempt); the worker stays connected
# and the other tasks are done.
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker a -j 2
{
  datasets 10
  echo '{"big":20}'
  echo '{"junk":1}'
  echo '{"die_mid_frame":1}'
} >"$TMP/in"
run wpool submit poison --kernel "$W_KERNELS/poison.so" --max-attempts 2 <"$TMP/in"
expect_rc 0
run timeout 60 wpool wait poison
expect_rc 1
expect_err "3 of 13 tasks failed"
wpool results poison >"$TMP/results"
[ "$(jq -s '[.[] | select(.output.x != null)] | length' "$TMP/results")" -eq 10 ] ||
  fail "the good tasks: $(jq -c '[.seq, .error]' "$TMP/results")"
jq -r 'select(.input.big) | .error' "$TMP/results" | grep -q 'result larger than' ||
  fail "big: $(jq -r 'select(.input.big) | .error' "$TMP/results")"
jq -r 'select(.input.junk) | .error' "$TMP/results" | grep -q 'protocol violation by kernel' ||
  fail "junk: $(jq -r 'select(.input.junk) | .error' "$TMP/results")"
# Every failure was an attempt of its own on a worker that stayed connected.
[ "$(grep -c 'joined' "$TMP/pool.log")" -eq 1 ] || fail "the worker reconnected: $(cat "$TMP/pool.log")"
