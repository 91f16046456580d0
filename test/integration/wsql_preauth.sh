#!/usr/bin/env bash
# Before a connection shows a valid capability it may send only 64 KiB:
# each could hold --max-message (64 MB) of unfinished message. After it
# (in the URL, or in its first request) the full --max-message applies.
# Over HTTP, a POST body without ?cap= in the URL is refused past 64 KiB
# with 413. Idle connections: without a capability they are closed after
# --auth-timeout, with one after --idle-timeout.
source "$(dirname "$0")/wsql_common.sh"
HOLD=$W_BUILD/test-tools/ws_hold
PARTIAL=$W_SRC/test/integration/ws_partial.py
start_server --auth-timeout 1s --idle-timeout 3s
ALL=$(mint all)
rpc '{"op":"create_db","db":"db"}' >/dev/null
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$SERVER_PID/status"; }

# 20 unfinished 8 MB messages without a capability: closed at 64 KiB.
before=$(rss_kb)
python3 "$PARTIAL" 127.0.0.1 "$PORT" /db 20 8000000 4000000 3 >"$TMP/partial" &
pid=$!
for _ in $(seq 1 200); do grep -q '^sent' "$TMP/partial" && break; sleep 0.05; done
sleep 0.5
grown=$(($(rss_kb) - before))
wait "$pid"
[ "$grown" -lt 20000 ] || fail "wsql grew by $grown kB for 20 unfinished messages without a capability"
[ "$(grep -c '^closed 1009' "$TMP/partial")" = 20 ] ||
  fail "connections without a capability were not closed at 64 KiB: $(sort "$TMP/partial" | uniq -c)"

# With the capability in the URL, a 1 MB request passes.
rows=$(seq 1 1000 | jq -Rc --arg pad "$(head -c 1000 /dev/zero | tr '\0' x)" '{n: tonumber, pad: $pad}')
printf '%s\n' "$rows" >"$TMP/rows.jsonl"
run wsql insert --create --batch 1000 "$WS/db?cap=$ALL" big <"$TMP/rows.jsonl"
expect_rc 0
run wsql query "$WS/db?cap=$ALL" 'SELECT count(*) AS n FROM big'
expect_out '"n":1000'

# Over HTTP: a 200 KB body needs its capability in the URL.
jq -c -s --arg cap "$ALL" '{op: "insert", table: "big", cap: $cap, rows: .[0:190]}' "$TMP/rows.jsonl" >"$TMP/body"
code=$(curl -s -o "$TMP/http.out" -w '%{http_code}' -m 10 -X POST "$HTTP/rpc?db=db" --data-binary "@$TMP/body")
[ "$code" = 413 ] || fail "a 200 KB body without ?cap= got HTTP $code: $(head -c 300 "$TMP/http.out")"
grep -q 'cap' "$TMP/http.out" || fail "the 413 does not say to put the capability in the URL"
rpc '{"op":"count","table":"big"}' "$ALL" db | jq -e '.count == 1000' >/dev/null || fail "count"

# Idle: 5 without a capability closed after ~1 s, 5 with one only after ~3 s.
"$HOLD" --port "$PORT" --path /db --conns 5 --hold 2.2 >"$TMP/anon" &
a=$!
"$HOLD" --port "$PORT" --path "/db?cap=$ALL" --conns 5 --hold 2.2 >"$TMP/capped" &
c=$!
wait "$a" "$c"
jq -e '.upgraded == 5 and .closed == 5' "$TMP/anon" >/dev/null ||
  fail "without a capability, idle past --auth-timeout: $(cat "$TMP/anon")"
jq -e '.upgraded == 5 and .open == 5' "$TMP/capped" >/dev/null ||
  fail "with a capability, idle less than --idle-timeout: $(cat "$TMP/capped")"
"$HOLD" --port "$PORT" --path "/db?cap=$ALL" --conns 5 --hold 5 >"$TMP/capped" &
c=$!
wait "$c"
jq -e '.upgraded == 5 and .closed == 5' "$TMP/capped" >/dev/null ||
  fail "with a capability, idle past --idle-timeout: $(cat "$TMP/capped")"
server_alive
