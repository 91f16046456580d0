# Helpers for test/integration/wsql_*.sh: a real `wsql serve` on a free
# port (the kernel picks it; we read it from the "listening on" line), curl
# for POST /rpc, and cleanup of only the processes started here.
source "$W_SRC/test/cli/common.sh"

SERVER_PID=""     # the last server started
SERVER_PIDS=()    # every server started here
SECRET="$TMP/wsql.secret"
trap 'stop_server; rm -rf "$TMP"' EXIT

# start_server [ARGS...]: wsql serve on 127.0.0.1:0 with ${DATA:-$TMP/data}
# and $SECRET (under `ulimit -n $SERVER_FDS` if that is set); sets PORT,
# HTTP (http://127.0.0.1:PORT) and WS (ws://...).
start_server() {
  local log="$TMP/server.log"
  : >"$log"
  # The subshell execs wsql: $! is the server's own PID.
  (
    [ -z "${SERVER_FDS:-}" ] || ulimit -n "$SERVER_FDS"
    exec wsql serve --dir "${DATA:-$TMP/data}" --listen 127.0.0.1:0 --secret "$SECRET" "$@"
  ) 2>"$log" &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")
  local i
  for i in $(seq 100); do
    PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$log" | sed 's/.*://' || true)
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "wsql serve exited: $(cat "$log")"
    sleep 0.1
  done
  [ -n "$PORT" ] || fail "wsql serve did not say where it listens: $(cat "$log")"
  HTTP="http://127.0.0.1:$PORT"
  WS="ws://127.0.0.1:$PORT"
}

# stop_server: SIGTERM to every server started here, then wait for them.
stop_server() {
  local p
  for p in "${SERVER_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  SERVER_PIDS=()
  SERVER_PID=""
}

# crash_and_restart [ARGS...]: kill -9 of the server, then a new one on
# the same data directory (a crash: nothing is committed at exit).
crash_and_restart() {
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PIDS=()
  start_server "$@"
}

server_alive() {
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died: $(tail -5 "$TMP/server.log")"
  curl -s -m 10 "$HTTP/api/status" | jq -e '.service == "wsql"' >/dev/null || fail "the server does not answer"
}

# mint RIGHTS [DB [EXPIRES]]: a capability from the server's secret.
mint() {
  wsql cap --secret "$SECRET" --rights "$1" --db "${2:-*}" --expires "${3:-0}"
}

# rpc JSON [CAP [DB]]: POST /rpc, the answer on stdout (any HTTP status).
rpc() {
  curl -s -m 30 -X POST "$HTTP/rpc?cap=${2-$ALL}&db=${3:-}" --data-binary "$1"
}

# expect_code JSON CODE [CAP [DB]]: the request fails with error code CODE.
expect_code() {
  local got
  got=$(rpc "$1" "${3-$ALL}" "${4:-}" | jq -r '.error.code // "ok"')
  [ "$got" = "$2" ] || fail "$1: expected $2, got $got"
}
