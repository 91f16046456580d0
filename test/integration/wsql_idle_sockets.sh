#!/usr/bin/env bash
# 1,014 idle WebSockets that never present a capability cannot lock wsql
# out. Under `ulimit -n 1024` they took every descriptor and a client with a
# capability got no answer. Now connections without a valid capability are
# at most half of what wsql can hold (the oldest makes room for a
# newcomer): the client is answered while they are held, and they are
# closed after the authentication deadline (10 s by default).
source "$(dirname "$0")/wsql_common.sh"
HOLD=$W_BUILD/test-tools/ws_hold
SERVER_FDS=1024 start_server
ALL=$(mint all)
rpc '{"op":"create_db","db":"db"}' >/dev/null
"$HOLD" --port "$PORT" --path /db --conns 1014 --hold 40 --every 0.5 >"$TMP/hold" &
HOLD_PID=$!
trap 'kill "$HOLD_PID" 2>/dev/null; stop_server; rm -rf "$TMP"' EXIT
held() {
  local v
  v=$(tail -1 "$TMP/hold" | jq -r ".$1 // 0" 2>/dev/null || true)
  echo "${v:-0}"
}
# Every one of the 1,014 was tried (wsql takes what it can; 10 s at most).
for _ in $(seq 1 100); do
  [ $(($(held upgraded) + $(held refused))) -ge 1014 ] && break
  sleep 0.1
done
[ "$(held open)" -gt 100 ] || fail "the idle sockets did not open: $(tail -1 "$TMP/hold")"
# While they are held, a client with a capability is answered, over
# WebSocket and over HTTP.
run timeout 10 wsql query "$WS/db?cap=$ALL" 'SELECT 1 AS one'
expect_rc 0
expect_out '"one":1'
curl -s -m 10 "$HTTP/api/status" | jq -e '.service == "wsql"' >/dev/null || fail "no HTTP answer"
[ "$(held open)" -gt 100 ] || fail "the idle sockets were gone before the client ran: $(tail -1 "$TMP/hold")"
# They are closed after the deadline (10 s; 20 s at most here).
for _ in $(seq 1 200); do
  [ "$(held open)" = 0 ] && break
  sleep 0.1
done
[ "$(held open)" = 0 ] || fail "idle sockets still open after the deadline: $(tail -1 "$TMP/hold")"
server_alive
run timeout 10 wsql query "$WS/db?cap=$ALL" 'SELECT 2 AS two'
expect_rc 0
expect_out '"two":2'
