#!/usr/bin/env bash
# Concurrent writers on one table (WebSocket and HTTP at once) while a
# reader counts: no row is lost or doubled, no writer fails.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create","table":"r","columns":{"writer":"INTEGER","i":"INTEGER","note":"TEXT"},"primary_key":["writer","i"]}' "$ALL" runs >/dev/null

pids=()
for w in 1 2 3 4; do
  python3 -c "
for i in range(20000): print('{\"writer\": $w, \"i\": %d, \"note\": \"n%d\"}' % (i, i))" >"$TMP/w$w.jsonl"
done
for w in 1 2 3; do
  timeout 120 wsql insert --batch 500 "$WS/runs?cap=$ALL" r <"$TMP/w$w.jsonl" 2>"$TMP/w$w.err" &
  pids+=($!)
done
timeout 120 wsql insert --batch 300 "$HTTP/runs?cap=$ALL" r <"$TMP/w4.jsonl" 2>"$TMP/w4.err" &
pids+=($!)
# Single-row writes through POST /rpc at the same time.
for i in $(seq 50); do
  rpc "{\"op\":\"insert\",\"table\":\"r\",\"row\":{\"writer\":5,\"i\":$i}}" "$ALL" runs | jq -e '.changes == 1' >/dev/null || fail "single insert $i"
  wsql "$WS/runs?cap=$ALL" 'SELECT count(*) AS n FROM r' >/dev/null || fail "reader"
done
for p in "${pids[@]}"; do
  wait "$p" || fail "a writer failed: $(cat "$TMP"/w*.err)"
done
run wsql "$WS/runs?cap=$ALL" 'SELECT writer, count(*) AS n FROM r GROUP BY writer ORDER BY writer' -f csv
expect_rc 0
[ "$(cat "$TMP/out")" = "$(printf 'writer,n\n1,20000\n2,20000\n3,20000\n4,20000\n5,50')" ] || fail "counts: $(cat "$TMP/out")"
server_alive
