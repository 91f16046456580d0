# Limits of wpool serve: connections past --max-connections are refused
# (503), and a connection that never says hello is closed after
# --worker-timeout, freeing its place; the pool serves on.
. "$(dirname "$0")/pool_common.sh"
POOL_ARGS="--max-connections 2 --worker-timeout 2s"
start_pool
RAW=$W_SRC/test/integration/ws_raw.py
# Two silent peers: a ping frame, never a hello.
python3 "$RAW" 127.0.0.1 "$PORT" /client "" 9 >"$TMP/silent1" &
PIDS+=($!)
python3 "$RAW" 127.0.0.1 "$PORT" /worker "" 9 >"$TMP/silent2" &
PIDS+=($!)
for i in $(seq 1 50); do
  [ "$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^wpool_connections /{print $2}')" = 2 ] && break
  sleep 0.05
done
python3 "$RAW" 127.0.0.1 "$PORT" /client "" 9 >"$TMP/third"
grep -qE "refused HTTP/1\.[01] 503" "$TMP/third" || fail "third connection: $(cat "$TMP/third")"
# Within the 5 s ws_raw waits, both silent peers are closed with 1008.
wait "${PIDS[1]}" "${PIDS[2]}"
grep -q "closed 1008" "$TMP/silent1" || fail "silent client: $(cat "$TMP/silent1")"
grep -q "closed 1008" "$TMP/silent2" || fail "silent worker: $(cat "$TMP/silent2")"
run wpool status --json
expect_rc 0
