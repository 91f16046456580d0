# Direct links between coupled members on different wrun: a real wsig, a real
# wpool serve --sig and four real wrun -j 1. The members of a K=4 ring meet
# through wsig, link each pair of workers directly over TCP, and every output
# is right; a 16 MiB stream between two members then crosses the links, not
# wsig (its relayed bytes do not grow by the stream). With one worker on
# --link off the same stream goes through the relay instead: a worker without
# direct links still runs coupled campaigns with those that have them.
. "$(dirname "$0")/pool_common.sh"

relayed() { curl -sf "http://127.0.0.1:$SIG_PORT/metrics" | awk '/^wsig_relay_bytes_total/ {print $2}'; }
# stream NAME: one pingpong task (K=2) with 16 MiB one way; its output checked.
stream() {
  echo '{"n":200,"stream_n":16,"stream_size":1048576}' |
    wpool submit "$1" --kernel "$W_KERNELS/pingpong.so" --group 2 --timeout 60s -q
  run timeout 60 wpool wait "$1" --timeout 50s
  expect_rc 0
  wpool results "$1" | jq -e '.output[0] | .stream_n == 16 and .stream_mb_s > 0' >/dev/null ||
    fail "$1: $(wpool results "$1")"
}

start_wsig
POOL_ARGS="--sig ws://127.0.0.1:$SIG_PORT/"
start_pool
worker_pids=()
for w in a b c d; do
  start_worker "$w" -j 1
  worker_pids+=("$WORKER_PID")
done
wait_workers 4

datasets 4 | wpool submit ring --kernel "$W_KERNELS/ring.so" --group 4 --timeout 60s -q
run timeout 60 wpool wait ring --timeout 50s
expect_rc 0
wpool results ring >"$TMP/ring.jsonl"
[ "$(wc -l <"$TMP/ring.jsonl")" -eq 4 ] || fail "ring: $(cat "$TMP/ring.jsonl")"
jq -e -s 'all(.[]; .input.x as $x | .output ==
  [range(4) | . as $r | [range(3) | $x*1000 + ((($r+3)%4)*10) + .]])' "$TMP/ring.jsonl" >/dev/null ||
  fail "ring: wrong outputs: $(cat "$TMP/ring.jsonl")"
# Four members on four workers: six pairs, each link reported by both ends.
ups=$(cat "$TMP"/worker-[abcd].log | grep -c 'direct link up' || true)
[ "$ups" -ge 12 ] || fail "expected >= 12 direct links up, saw $ups: $(cat "$TMP"/worker-[abcd].log)"
grep -q 'was lost\|error' "$TMP"/worker-[abcd].log && fail "workers: $(cat "$TMP"/worker-[abcd].log)"

before=$(relayed)
stream direct
after=$(relayed)
[ $((after - before)) -lt 1048576 ] ||
  fail "the stream went through wsig's relay ($((after - before)) bytes) instead of a direct link"

kill "${worker_pids[@]}"
wait "${worker_pids[@]}" 2>/dev/null || true
wait_workers 0
start_worker e -j 1 --link off
start_worker f -j 1
wait_workers 2
before=$(relayed)
stream relayed
after=$(relayed)
[ $((after - before)) -ge $((16 * 1048576)) ] ||
  fail "with --link off the stream should go through the relay: only $((after - before)) bytes did"
grep -q 'direct link up' "$TMP/worker-e.log" "$TMP/worker-f.log" && fail "a link opened to --link off"
wrun --help | grep -q -- '--link' || fail "wrun --help does not show --link"
echo ok
