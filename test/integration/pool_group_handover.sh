# Members take over their direct links (w-protocol(7) "Handed to the
# member"): a real wsig, a real wpool serve --sig and two real wrun -j 1.
#  1. Order and integrity: 1,000 round trips whose answers must come in
#     order, while each member's worker hands it the link's socket for
#     writing and for reading part way; then both members send each other
#     two 12 MiB messages at the same moment (neither may wait on the other
#     for ever) and check every byte; a barrier and a last message. Both
#     workers say they handed both directions over.
#  2. A lost worker: both members hold their links, one's worker is killed
#     (-9) while the other member waits on its link with no timeout; the
#     survivor's run must end within seconds, not at the task's timeout.
. "$(dirname "$0")/pool_common.sh"

start_wsig
POOL_ARGS="--sig ws://127.0.0.1:$SIG_PORT/"
start_pool
export WRUN_VERBOSE=2 # the handovers are told at debug level
start_worker a -j 1
pid_a=$WORKER_PID
start_worker b -j 1
pid_b=$WORKER_PID
wait_workers 2

echo '{"rounds":1000,"big":2,"big_mib":12}' |
  wpool submit exchange --kernel "$W_KERNELS/exchange.so" --group 2 --timeout 60s -q
run timeout 90 wpool wait exchange --timeout 80s
expect_rc 0
wpool results exchange | jq -e '.output == [[0, 1000, 25165824, true], [1, 1000, 25165824, true]]' \
  >/dev/null || fail "exchange: $(wpool results exchange)"
for w in a b; do
  grep -q 'writes to rank . on the link itself' "$TMP/worker-$w.log" &&
    grep -q 'reads rank . on the link itself' "$TMP/worker-$w.log" ||
    fail "worker $w did not hand its member both directions: $(cat "$TMP/worker-$w.log")"
done
grep -q 'was lost\|error' "$TMP"/worker-[ab].log && fail "workers: $(cat "$TMP"/worker-[ab].log)"

# 2. hang: rank 0 sleeps, rank 1 waits on its link for ever; kill rank 0's worker.
echo '{"rounds":50,"hang":true}' |
  wpool submit hang --kernel "$W_KERNELS/exchange.so" --group 2 --timeout 120s -q
for _ in $(seq 1 100); do
  grep -q 'reads rank 0 on the link itself' "$TMP"/worker-[ab].log && break
  sleep 0.1
done
if grep -q 'reads rank 0 on the link itself' "$TMP/worker-a.log"; then
  victim=$pid_b survivor=a
else
  victim=$pid_a survivor=b
fi
grep -q 'reads rank 0 on the link itself' "$TMP/worker-$survivor.log" ||
  fail "rank 1 never took its link: $(cat "$TMP"/worker-[ab].log)"
t0=$(date +%s)
kill -9 "$victim"
for _ in $(seq 1 150); do
  grep -q 'stopped 1 member\|was lost' "$TMP/worker-$survivor.log" && break
  sleep 0.1
done
t1=$(date +%s)
grep -q 'stopped 1 member\|was lost' "$TMP/worker-$survivor.log" ||
  fail "the survivor's member still waits $((t1 - t0)) s after its peer's worker died: $(cat "$TMP/worker-$survivor.log")"
echo ok
