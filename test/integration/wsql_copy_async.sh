#!/usr/bin/env bash
# The copy operation makes the server connect where a client says. It once
# blocked every client while a source stalled (~10 s), deadlocked copying
# from the server itself, and its errors told an open port from a closed
# one. Now the source is read off the event loop, holding no database, and
# within the request's budget; every way a source can fail to be a wsql
# server gives the same message at the same time (the deadline); copying
# from this very server works; and POST /rpc, which cannot wait, refuses it.
source "$(dirname "$0")/wsql_common.sh"
start_server --statement-timeout 3s
ALL=$(mint all)
for db in src dst; do rpc "{\"op\":\"create_db\",\"db\":\"$db\"}" >/dev/null; done
rows=$(python3 -c 'import json; print(json.dumps([{"id": i, "v": "r%d" % i} for i in range(1, 101)]))')
for db in src dst; do
  rpc '{"op":"create","table":"m","columns":{"id":"INTEGER PRIMARY KEY","v":"TEXT"}}' "$ALL" "$db" >/dev/null
  rpc "{\"op\":\"insert\",\"table\":\"m\",\"rows\":$rows}" "$ALL" "$db" | jq -e '.changes == 100' >/dev/null || fail "rows into $db"
done
ws() { timeout 60 python3 "$W_SRC/test/integration/wsql_ws.py" --timeout 30 "$@"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# Three sources that are not wsql servers: one that accepts and never
# answers, one that answers HTTP 404, and a port nobody listens on. Each
# helper lives 90 s at most and is stopped by PID with the server.
python3 - "$TMP/stall.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held, end = [], time.time() + 90
s.settimeout(1)
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
PY
SERVER_PIDS+=($!)
python3 - "$TMP/http.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
end = time.time() + 90
s.settimeout(1)
while time.time() < end:
    try:
        c = s.accept()[0]
        c.recv(65536)
        c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        c.close()
    except (socket.timeout, OSError):
        pass
PY
SERVER_PIDS+=($!)
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for f in stall http; do
  for i in $(seq 50); do [ -s "$TMP/$f.port" ] && break; sleep 0.1; done
done
stall=$(cat "$TMP/stall.port") http=$(cat "$TMP/http.port")

copy_req() { echo "{\"op\":\"copy\",\"table\":\"$1\",\"from\":\"$2\",\"if_not_exists\":true}"; }

# A stalling source: the server answers others at once, on the copy's own
# database too, and the copy fails at its budget.
t0=$(date +%s%N)
ws "$WS/dst?cap=$ALL" "$(copy_req c1 "ws://127.0.0.1:$stall/src/m?cap=$ALL")" >"$TMP/stall.out" &
copy_pid=$!
sleep 0.5
for db in dst src; do
  ws "$WS/$db?cap=$ALL" '{"op":"count","table":"m"}' >"$TMP/quick.out" || fail "count during a copy"
  quick=$(cut -f1 "$TMP/quick.out")
  [ "$quick" -lt 1000 ] || fail "a count on $db waited $quick ms behind a stalled copy"
done
kill -0 "$copy_pid" 2>/dev/null || fail "the copy ended before the others were measured: $(cat "$TMP/stall.out")"
wait "$copy_pid" || fail "the stalled copy: $(cat "$TMP/stall.out")"
stall_ms=$(ms_since "$t0")
stall_msg=$(cut -f2 "$TMP/stall.out" | jq -r '.error.code + ": " + .error.message')
[ "$stall_ms" -lt 6000 ] || fail "the stalled copy answered after $stall_ms ms (budget 3 s)"

# The other failures read the same, after the same time: no port scanner.
for src in "ws://127.0.0.1:$closed/src/m?cap=$ALL" "ws://127.0.0.1:$http/src/m?cap=$ALL" \
  "http://127.0.0.1:$stall/src/m?cap=$ALL" "http://127.0.0.1:$closed/src/m?cap=$ALL"; do
  t0=$(date +%s%N)
  ws "$WS/dst?cap=$ALL" "$(copy_req c1 "$src")" >"$TMP/fail.out" || fail "copy from $src: $(cat "$TMP/fail.out")"
  ms=$(ms_since "$t0")
  msg=$(cut -f2 "$TMP/fail.out" | jq -r '.error.code + ": " + .error.message')
  [ "$msg" = "$stall_msg" ] || fail "copy from $src says '$msg', a stalled source '$stall_msg'"
  [ "$ms" -ge 2500 ] || fail "copy from $src failed after $ms ms, before the budget: it tells ports apart"
done
expect_code '{"op":"count","table":"c1"}' not_found "$ALL" dst

# From this very server: another database, and the same one.
ws "$WS/dst?cap=$ALL" "$(copy_req c2 "ws://127.0.0.1:$PORT/src/m?cap=$ALL")" >"$TMP/self.out" || fail "self copy"
cut -f2 "$TMP/self.out" | jq -e '.changes == 100' >/dev/null || fail "copy from src: $(cat "$TMP/self.out")"
ws "$WS/dst?cap=$ALL" "$(copy_req c3 "ws://127.0.0.1:$PORT/dst/m?cap=$ALL")" >"$TMP/self.out" || fail "self copy"
cut -f2 "$TMP/self.out" | jq -e '.changes == 100' >/dev/null || fail "copy from dst itself: $(cat "$TMP/self.out")"
rpc '{"op":"sql","sql":"SELECT sum(id) AS s FROM c3"}' "$ALL" dst | jq -e '.rows == [[5050]]' >/dev/null || fail "c3 rows"

# POST /rpc cannot wait for a source: refused, and nothing connects.
expect_code "$(copy_req c4 "ws://127.0.0.1:$PORT/src/m?cap=$ALL")" bad_request "$ALL" dst
server_alive
echo "ok: a stalled source answered in $stall_ms ms: $stall_msg"
