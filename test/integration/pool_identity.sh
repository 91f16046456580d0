# A worker is known by the key in its cache, not by its process: a cheater
# flagged by a quorum and restarted keeps its id and its flag, gets no tasks
# of any campaign, and `wpool workers` shows the evidence (the task, its
# result, the accepted one); `wpool workers unflag ID` lets it work again.
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker a -j 1
start_worker b -j 1
W_TEST_CHEAT=1 start_worker c -j 1
cheater=$WORKER_PID
wait_workers 3
datasets 60 | wpool submit verified --kernel "$W_KERNELS/cheat.so" --replicas 2 --quorum 2 >/dev/null
run timeout 60 wpool wait verified
expect_rc 0
wpool workers --json >"$TMP/w.json"
id=$(jq -r '.[] | select(.name == "c") | .id' "$TMP/w.json")
[[ "$id" == k-* ]] || fail "the cheater's id is not its key's: $id"
jq -e '.[] | select(.name == "c") | .flagged and (.evidence | length) >= 1 and
  (.evidence[0] | .campaign == "verified" and .output != .accepted)' "$TMP/w.json" >/dev/null ||
  fail "no evidence: $(cat "$TMP/w.json")"
run wpool workers
expect_out "flagged: task "
expect_out "of 'verified' returned"

# Restarted (same cache, so the same key): same id, still flagged, no tasks.
kill -9 "$cheater"
# Gone before the restart: until then its lock holds the key, and the new
# process would take another (a new worker, as two wrun on one cache are).
wait "$cheater" 2>/dev/null || true
W_TEST_CHEAT=1 start_worker c -j 1
wait_workers 3
[ "$(wpool workers --json | jq -r '[.[] | select(.name == "c")] | length')" = 1 ] ||
  fail "the restarted cheater is a new worker: $(wpool workers --json)"
wpool workers --json | jq -e --arg id "$id" '.[] | select(.id == $id) | .flagged and .connected' >/dev/null ||
  fail "the flag did not survive a restart: $(wpool workers --json)"
datasets 100 | sed 's/"x"/"y"/' | wpool submit plain --kernel "$W_KERNELS/busy10ms.so" >/dev/null
run timeout 60 wpool wait plain
expect_rc 0
! wpool results plain | jq -r .worker | grep -qxF "$id" || fail "the flagged worker got tasks"

# Lifted by an admin: it works again.
run wpool workers unflag "$id"
expect_rc 0
wpool workers --json | jq -e --arg id "$id" '.[] | select(.id == $id) | .flagged == false' >/dev/null ||
  fail "still flagged after unflag"
datasets 100 | sed 's/"x"/"z"/' | wpool submit again --kernel "$W_KERNELS/busy10ms.so" >/dev/null
run timeout 60 wpool wait again
expect_rc 0
wpool results again | jq -r .worker | grep -qxF "$id" || fail "the unflagged worker got no tasks"
run wpool workers unflag k-nosuchworker
expect_rc 66
expect_err "no worker 'k-nosuchworker'"

# Two wrun on one cache at once are two workers: the second takes
# worker.2.key (each locks its key), and a restart takes the first free key.
wrun "$POOL" --name s1 --cache "$TMP/shared" -j 1 2>>"$TMP/worker-s1.log" &
s1=$!
PIDS+=("$s1")
wait_workers 4
wrun "$POOL" --name s2 --cache "$TMP/shared" -j 1 2>>"$TMP/worker-s2.log" &
PIDS+=($!)
wait_workers 5
id1=$(worker_id s1)
id2=$(worker_id s2)
[[ "$id1" == k-* && "$id2" == k-* && "$id1" != "$id2" ]] ||
  fail "two wrun on one cache are one worker: $id1 $id2"
[ -s "$TMP/shared/worker.key" ] && [ -s "$TMP/shared/worker.2.key" ] ||
  fail "keys in the shared cache: $(ls "$TMP/shared")"
kill "$s1"
wait "$s1" || true
wrun "$POOL" --name s3 --cache "$TMP/shared" -j 1 2>>"$TMP/worker-s3.log" &
PIDS+=($!)
wait_workers 5
[ "$(worker_id s3)" = "$id1" ] || fail "a restart on the shared cache did not take the free key"
