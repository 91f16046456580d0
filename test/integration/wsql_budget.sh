#!/usr/bin/env bash
# Limits that are limits. With --statement-timeout 2s a 4 KB read request
# once ran 33 s while another client's SELECT 1 waited 10 s: the budget was
# per statement of a batch, single function calls and compiling ran past
# it, and everything ran on the one event-loop thread. Now:
# - the budget is for the whole message (a batch of slow requests stops at
#   one budget);
# - no single call runs long: instr() is linear, LIKE/trim past a cost
#   bound are refused at once;
# - a slow request, or one whose compiling explodes (a 1.6 kB CTE), runs on
#   its database's own thread: another client's SELECT 1 answers at once,
#   over a WebSocket and over HTTP;
# - POST /rpc holds the server at most --http-timeout.
source "$(dirname "$0")/wsql_common.sh"
start_server --statement-timeout 2s
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create_db","db":"other"}' >/dev/null
ws() { timeout 120 python3 "$W_SRC/test/integration/wsql_ws.py" --timeout 60 "$@"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
forever='WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c'

# 1. A batch of 6 endless requests answers within one budget, every one
#    of them timeout.
batch="[$(for i in 1 2 3 4 5 6; do printf '{"id":%d,"op":"sql","sql":"%s"},' "$i" "$forever"; done | sed 's/,$//')]"
t0=$(date +%s%N)
ws "$WS/runs?cap=$ALL" "$batch" >"$TMP/batch.out" || fail "the batch: $(cat "$TMP/batch.out")"
ms=$(ms_since "$t0")
[ "$ms" -lt 4500 ] || fail "a batch of 6 slow requests took $ms ms for a 2 s budget"
cut -f2 "$TMP/batch.out" | jq -e 'length == 6 and all(.[]; .error.code == "timeout")' >/dev/null ||
  fail "batch answers: $(cut -c1-300 "$TMP/batch.out")"

# 2. One function call: a 100 kB needle in a 20 MB haystack (466 s in
#    SQLite's instr for twice that), LIKE and trim with costly patterns.
hay="printf('%.*c', 20000000, 'a')"
needle="printf('%.*c', 100000, 'a') || 'b'"
t0=$(date +%s%N)
ws "$WS/runs?cap=$ALL" "{\"op\":\"sql\",\"sql\":\"SELECT instr($hay, $needle) AS i, instr($hay || 'b', $needle) AS j\"}" \
  >"$TMP/instr.out" || fail "instr: $(cat "$TMP/instr.out")"
cut -f2 "$TMP/instr.out" | jq -e '.rows == [[0, 19900001]]' >/dev/null || fail "instr: $(cut -c1-300 "$TMP/instr.out")"
for sql in "SELECT $hay LIKE '%' || $needle || '%'" "SELECT length(trim($hay, printf('%.*c', 100000, 'b') || 'a'))"; do
  ws "$WS/runs?cap=$ALL" "{\"op\":\"sql\",\"sql\":\"$sql\"}" >"$TMP/fn.out" || fail "$sql: $(cat "$TMP/fn.out")"
  cut -f2 "$TMP/fn.out" | jq -e '.error.code == "too_big"' >/dev/null || fail "$sql: $(cut -c1-300 "$TMP/fn.out")"
done
ms=$(ms_since "$t0")
[ "$ms" -lt 15000 ] || fail "the function calls took $ms ms"
# Ordinary uses stay as they were.
rpc "{\"op\":\"sql\",\"sql\":\"SELECT 'abcabc' LIKE '%ca%', instr('héllo', 'l'), replace('aXbXc', 'X', '--'), trim('xxhixx', 'x'), json_object('a', json_patch('{}', '{\\\"b\\\":1}')) AS j\"}" "$ALL" runs |
  jq -ce '.rows == [[1, 3, "a--b--c", "hi", "{\"a\":{\"b\":1}}"]]' >/dev/null ||
  fail "plain functions: $(rpc "{\"op\":\"sql\",\"sql\":\"SELECT 'abcabc' LIKE '%ca%', instr('héllo', 'l')\"}" "$ALL" runs)"

# 3. While a slow request runs, and while a statement takes seconds to
#    compile, other clients are answered at once.
bomb='WITH a0(x) AS (SELECT 1)'
for i in $(seq 1 7); do
  p=$((i - 1))
  bomb+=", a$i(x) AS (SELECT 1 FROM a$p UNION ALL SELECT 1 FROM a$p UNION ALL SELECT 1 FROM a$p UNION ALL SELECT 1 FROM a$p UNION ALL SELECT 1 FROM a$p UNION ALL SELECT 1 FROM a$p UNION ALL SELECT 1 FROM a$p)"
done
bomb+=" SELECT count(*) FROM a7"
# One process sends the slow request, then 300 ms later SELECT 1 on another
# connection and over HTTP, and times each answer from its own send.
cat >"$TMP/race.py" <<'PY'
import http.client, json, sys, time
sys.path.insert(0, sys.argv[1])
from wsql_ws import Conn, frame
port, cap, sql = int(sys.argv[2]), sys.argv[3], sys.argv[4]
slow = Conn(f"ws://127.0.0.1:{port}/runs?cap={cap}", 60)
quick = Conn(f"ws://127.0.0.1:{port}/other?cap={cap}", 60)
t_slow = time.monotonic()
slow.sock.sendall(frame(json.dumps({"op": "sql", "sql": sql}).encode(), 1))
time.sleep(0.3)
t0 = time.monotonic()
quick.sock.sendall(frame(b'{"op":"sql","sql":"SELECT 1 AS one"}', 1))
op, body = quick.recv()
ws_ms = int((time.monotonic() - t0) * 1000)
assert json.loads(body)["rows"] == [[1]], body
t0 = time.monotonic()
h = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
h.request("POST", f"/rpc?db=other&cap={cap}", b'{"op":"sql","sql":"SELECT 1 AS one"}')
answer = h.getresponse().read()
http_ms = int((time.monotonic() - t0) * 1000)
assert json.loads(answer)["rows"] == [[1]], answer
op, body = slow.recv()
slow_ms = int((time.monotonic() - t_slow) * 1000)
print(ws_ms, http_ms, slow_ms, body.decode()[:200])
PY
for slow in "$forever" "$bomb"; do
  timeout 120 python3 "$TMP/race.py" "$W_SRC/test/integration" "$PORT" "$ALL" "$slow" >"$TMP/race.out" ||
    fail "the race: $(cat "$TMP/race.out")"
  read -r quick http_ms slow_ms answer <"$TMP/race.out"
  [ "$slow_ms" -gt 600 ] || fail "the slow request took only $slow_ms ms: $answer"
  [ "$quick" -lt 1000 ] || fail "SELECT 1 over a WebSocket waited $quick ms behind a slow request"
  [ "$http_ms" -lt 1000 ] || fail "SELECT 1 over HTTP waited $http_ms ms behind a slow request"
  echo "slow request answered in $slow_ms ms; meanwhile SELECT 1 in $quick ms (WebSocket), $http_ms ms (HTTP)"
done

# 4. POST /rpc holds the server at most --http-timeout.
stop_server
start_server --statement-timeout 10s --http-timeout 300ms
rpc '{"op":"create_db","db":"runs"}' >/dev/null
t0=$(date +%s%N)
answer=$(rpc "{\"op\":\"sql\",\"sql\":\"$forever\"}" "$ALL" runs)
ms=$(ms_since "$t0")
[ "$(jq -r .error.code <<<"$answer")" = timeout ] || fail "a slow POST: $answer"
grep -q 'http-timeout' <<<"$answer" || fail "the timeout does not name --http-timeout: $answer"
[ "$ms" -lt 2000 ] || fail "a slow POST held the server $ms ms with --http-timeout 300ms"
server_alive
curl -s "$HTTP/metrics" | awk '$1 == "wsql_handoffs_total" {exit !($2 > 0)}' || fail "no hand-off counted"
echo ok
