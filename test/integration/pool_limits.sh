# Limits of wpool serve before hello: at most half of --max-connections wait
# for their hello, and a newcomer past that closes the oldest of them at
# once; one that never says hello is closed after --auth-timeout (1008).
# Only when every place is taken by connections that said hello is a
# newcomer refused (HTTP 503). The pool serves on throughout.
. "$(dirname "$0")/pool_common.sh"
POOL_ARGS="--max-connections 4 --auth-timeout 2s"
start_pool
RAW=$W_SRC/test/integration/ws_raw.py
# Three silent peers (a ping frame, never a hello) for two places.
silent=()
for i in 1 2 3; do
  python3 "$RAW" 127.0.0.1 "$PORT" /worker "" 9 >"$TMP/silent$i" &
  silent+=($!)
  PIDS+=($!)
  sleep 0.3
done
wait "${silent[@]}"
grep -q "closed 1006" "$TMP/silent1" || fail "the oldest silent peer was not closed to make room: $(cat "$TMP/silent1")"
grep -q "closed 1008" "$TMP/silent2" || fail "silent peer 2 after --auth-timeout: $(cat "$TMP/silent2")"
grep -q "closed 1008" "$TMP/silent3" || fail "silent peer 3 after --auth-timeout: $(cat "$TMP/silent3")"
run wpool status --json
expect_rc 0
curl -s "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -q '^wpool_connections_evicted_total 1$' "$TMP/metrics" || fail "evictions: $(grep evicted "$TMP/metrics")"
grep -q '^wpool_auth_timeouts_total 2$' "$TMP/metrics" || fail "timeouts: $(grep auth_timeouts "$TMP/metrics")"
# Four workers take every place: a newcomer is refused, and gets in again
# once a worker has gone.
for w in a b c; do start_worker "$w" -j 1; done
wait_workers 3
start_worker d -j 1
d=$WORKER_PID
# Probe only once d has said hello (the pool's log says so; an HTTP request
# would take a place too): while d waits for its hello a newcomer may evict
# it, and its reconnect may evict the probe in turn.
for _ in $(seq 1 200); do
  [ "$(grep -c ' joined: ' "$TMP/pool.log")" -ge 4 ] && break
  sleep 0.05
done
[ "$(grep -c ' joined: ' "$TMP/pool.log")" -ge 4 ] || fail "worker d did not say hello: $(cat "$TMP/pool.log")"
refused=0
for _ in $(seq 1 100); do
  if ! timeout 10 wpool status >/dev/null 2>"$TMP/refused"; then
    refused=1
    break
  fi
  sleep 0.1
done
[ "$refused" = 1 ] || fail "a fifth connection was let in past --max-connections 4"
grep -q "the server is full (HTTP 503)" "$TMP/refused" || fail "refusal: $(cat "$TMP/refused")"
kill "$d"
for _ in $(seq 1 100); do timeout 10 wpool status >/dev/null 2>&1 && break; sleep 0.1; done
run wpool status --json
expect_rc 0
