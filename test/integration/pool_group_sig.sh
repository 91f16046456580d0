# Where coupled members' messages go in pool mode: with all K members on one
# wrun they talk directly (the pool has no --sig, nothing is relayed); with
# members on two wrun, `wrun --sig` overrides a pool's unusable sig.
. "$(dirname "$0")/pool_common.sh"

expect_ring() {  # NAME N: N results, rank r of 4 got [x*1000 + ((r+3)%4)*10 + round]
  wpool results "$1" >"$TMP/$1.jsonl"
  [ "$(wc -l <"$TMP/$1.jsonl")" -eq "$2" ] || fail "$1: expected $2 results: $(cat "$TMP/$1.jsonl")"
  jq -e -s 'all(.[]; .input.x as $x | .output ==
    [range(4) | . as $r | [range(3) | $x*1000 + ((($r+3)%4)*10) + .]])' \
    "$TMP/$1.jsonl" >/dev/null || fail "$1: wrong outputs: $(cat "$TMP/$1.jsonl")"
}

# One worker with 4 slots, no wsig anywhere.
start_pool
start_worker solo -j 4
wait_workers 1
datasets 4 | wpool submit local --kernel "$W_KERNELS/ring.so" --group 4 -q
run timeout 60 wpool wait local --timeout 50s
expect_rc 0
expect_ring local 4
jq -e -s --arg id "$(worker_id solo)" 'all(.[]; .worker == $id)' "$TMP/local.jsonl" >/dev/null ||
  fail "not all on solo: $(jq -c .worker "$TMP/local.jsonl")"
kill "$POOL_PID" "$WORKER_PID"
wait "$POOL_PID" "$WORKER_PID" 2>/dev/null || true

# The pool names a wsig that is not there; the workers' --sig wins.
start_wsig
rm -f "$TMP/pool.db" "$TMP/pool.log"
POOL_ARGS="--sig ws://127.0.0.1:9/"
start_pool
start_worker a -j 2 --sig "ws://127.0.0.1:$SIG_PORT/"
start_worker b -j 2 --sig "ws://127.0.0.1:$SIG_PORT"
wait_workers 2
datasets 3 | wpool submit relayed --kernel "$W_KERNELS/ring.so" --group 4 -q
run timeout 60 wpool wait relayed --timeout 50s
expect_rc 0
expect_ring relayed 3
frames=$(curl -sf "http://127.0.0.1:$SIG_PORT/metrics" | awk '/^wsig_relay_frames_total/ {print $2}')
[ "${frames:-0}" -gt 0 ] || fail "nothing went through wsig's relay"
