# Coupled campaigns end to end: a real wsig, a real wpool serve --sig and two
# real wrun -j 2. A K=4 ring campaign runs each task as 4 members on the 4
# slots of two workers: members on one wrun talk directly, across the two
# through wsig's relay, and every output is right. Then a worker is killed
# with -9 mid-exchange: the group run fails, is run again as a whole on the
# workers left (plus a new one), and the campaign completes.
. "$(dirname "$0")/pool_common.sh"

# expect_ring NAME N ROUNDS: the results of campaign NAME are N tasks whose
# output is, for each rank r of 4, [x*1000 + ((r+3)%4)*10 + round].
expect_ring() {
  wpool results "$1" >"$TMP/$1.jsonl"
  [ "$(wc -l <"$TMP/$1.jsonl")" -eq "$2" ] || fail "$1: expected $2 results: $(cat "$TMP/$1.jsonl")"
  jq -e -s --argjson rounds "$3" 'all(.[]; .input.x as $x | .output ==
    [range(4) | . as $r | [range($rounds) | $x*1000 + ((($r+3)%4)*10) + .]])' \
    "$TMP/$1.jsonl" >/dev/null || fail "$1: wrong outputs: $(cat "$TMP/$1.jsonl")"
}

start_wsig
POOL_ARGS="--sig $SIG"
start_pool
start_worker a -j 2
start_worker b -j 2
wait_workers 2

datasets 6 | wpool submit ring --kernel "$W_KERNELS/ring.so" --group 4 --timeout 60s -q
run timeout 90 wpool wait ring --timeout 80s
expect_rc 0
expect_ring ring 6 3
# The two workers' members talked through the relay.
frames=$(curl -sf "http://127.0.0.1:$SIG_PORT/metrics" | awk '/^wsig_relay_frames_total/ {print $2}')
[ "${frames:-0}" -gt 0 ] || fail "nothing went through wsig's relay: $(curl -sf "http://127.0.0.1:$SIG_PORT/metrics")"
grep -q 'error' "$TMP/worker-a.log" "$TMP/worker-b.log" &&
  fail "workers logged errors: $(cat "$TMP/worker-a.log" "$TMP/worker-b.log")"

# Kill -9 worker b while its members are in the middle of a slow exchange
# (8 rounds, 250 ms apart); a new worker c makes 4 slots again.
for x in 100 101; do echo "{\"x\":$x,\"rounds\":8,\"sleep_ms\":250}"; done |
  wpool submit slow --kernel "$W_KERNELS/ring.so" --group 4 --timeout 60s -q
for i in $(seq 1 200); do
  [ "$(wpool status slow --json | jq ".campaigns[0].leased // 0")" -gt 0 ] 2>/dev/null && break
  sleep 0.05
done
sleep 0.8
kill -9 "$WORKER_PID"  # b
start_worker c -j 2
run timeout 120 wpool wait slow --timeout 110s
expect_rc 0
wpool results slow >"$TMP/slow.jsonl"
[ "$(wc -l <"$TMP/slow.jsonl")" -eq 2 ] || fail "slow: $(cat "$TMP/slow.jsonl")"
jq -e -s 'all(.[]; .input.x as $x | .output ==
  [range(4) | . as $r | [range(8) | $x*1000 + ((($r+3)%4)*10) + .]])' "$TMP/slow.jsonl" >/dev/null ||
  fail "slow: wrong outputs: $(cat "$TMP/slow.jsonl")"
# The run b was part of failed and ran again.
runs=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^wpool_group_runs_total/ {print $2}')
[ "${runs:-0}" -gt 8 ] || fail "expected more than 6 + 2 group runs, got ${runs:-none}"
