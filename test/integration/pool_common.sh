# Helpers for pool tests: start real wpool and wrun processes on a free
# port, stop exactly the processes started here.
. "$(dirname "$0")/../cli/common.sh"

PIDS=()
cleanup_pool() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP" # KEEP_TMP=1: left for a look at the logs
}
trap cleanup_pool EXIT

# start_pool [PORT]: starts wpool serve on $POOL_DB ($TMP/pool.db unless
# set); sets POOL_PID, PORT, POOL.
start_pool() {
  local want=${1:-0}
  wpool serve --db "${POOL_DB:-$TMP/pool.db}" --listen "127.0.0.1:$want" ${POOL_ARGS:-} 2>>"$TMP/pool.log" &
  POOL_PID=$!
  PIDS+=("$POOL_PID")
  local i
  for i in $(seq 1 100); do
    # Count the starts before reading the port: read the other way round, a
    # restart's line could land between the two and leave the old port.
    [ "$(grep -c 'listening on' "$TMP/pool.log")" -ge "${POOL_STARTS:-1}" ] || { sleep 0.05; continue; }
    PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/pool.log" | tail -1 | cut -d: -f2 || true)
    if [ -n "$PORT" ] && { [ "$want" = 0 ] || [ "$PORT" = "$want" ]; }; then
      POOL=ws://127.0.0.1:$PORT
      export W_POOL=$POOL
      return 0
    fi
    sleep 0.05
  done
  fail "wpool did not start: $(cat "$TMP/pool.log")"
}

# start_worker NAME [wrun args...]: sets WORKER_PID.
start_worker() {
  local name=$1
  shift
  wrun "$POOL" --name "$name" --cache "$TMP/cache-$name" "$@" 2>>"$TMP/worker-$name.log" &
  WORKER_PID=$!
  PIDS+=("$WORKER_PID")
}

# start_wsig: a real wsig on a free port of 127.0.0.1; sets SIG_PORT and
# SIG (its ws:// URL).
start_wsig() {
  wsig -p 0 -H 127.0.0.1 2>>"$TMP/wsig.log" &
  PIDS+=("$!")
  local i
  SIG_PORT=
  for i in $(seq 1 100); do
    SIG_PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/wsig.log" | tail -1 | cut -d: -f2 || true)
    [ -n "$SIG_PORT" ] && break
    sleep 0.05
  done
  [ -n "$SIG_PORT" ] || fail "wsig did not start: $(cat "$TMP/wsig.log")"
  SIG=ws://127.0.0.1:$SIG_PORT/
}

# worker_id NAME [client args...]: the id the pool knows worker NAME by (its
# key's hash, as results name it).
worker_id() {
  local name=$1
  shift
  wpool workers --json "$@" | jq -r --arg n "$name" '[.[] | select(.name == $n)][0].id'
}

# datasets N: N JSON lines {"x":i}
datasets() { seq 0 $(($1 - 1)) | sed 's/.*/{"x":&}/'; }

# wait_workers N: waits (10 s at most) until N workers are connected, so a
# test that needs every worker to take part does not race their hellos.
wait_workers() {
  local i
  for i in $(seq 1 200); do
    [ "$(wpool workers --json 2>/dev/null | jq '[.[] | select(.connected)] | length' 2>/dev/null)" = "$1" ] && return 0
    sleep 0.05
  done
  fail "only $(wpool workers --json | jq '[.[] | select(.connected)] | length') of $1 workers connected"
}

# W_TEST_POOL_DB=postgres (set by pool_on_postgres.sh): start_pool serves a
# database of a throwaway PostgreSQL cluster (pg_common.sh) instead of
# $TMP/pool.db, the same one across restarts.
if [ "${W_TEST_POOL_DB:-}" = postgres ] && [ -z "${PG_URL:-}" ]; then
  . "$(dirname "$0")/pg_common.sh"
  start_postgres
  POOL_DB=$PG_URL
fi
