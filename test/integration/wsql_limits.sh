#!/usr/bin/env bash
# A statement past --statement-timeout stops with `timeout`, a result past
# --max-result with `too_big`; both leave the server answering and the
# database untouched, over POST /rpc and through the client (exit 1 with
# the code on stderr).
source "$(dirname "$0")/wsql_common.sh"
start_server --statement-timeout 300ms --max-result 4096
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create","table":"t","columns":{"s":"TEXT"}}' "$ALL" runs >/dev/null
rpc '{"op":"insert","table":"t","rows":[{"s":"a"},{"s":"b"}]}' "$ALL" runs >/dev/null

# An endless recursive query is stopped near its budget, not run forever.
forever='WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c'
t0=$(date +%s%N)
expect_code "{\"op\":\"sql\",\"sql\":\"$forever\"}" timeout "$ALL" runs
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 5000 ] || fail "the timeout took $ms ms for a 300 ms budget"
server_alive
rpc '{"op":"count","table":"t"}' "$ALL" runs | jq -e '.count == 2' >/dev/null || fail "count after a timeout"

# 100 rows of 100 bytes pass 4096 bytes of result: too_big, nothing partial.
rpc '{"op":"insert","table":"t","rows":['"$(for i in $(seq 100); do printf '{"s":"%0100d"},' "$i"; done | sed 's/,$//')"']}' \
  "$ALL" runs | jq -e '.changes == 100' >/dev/null || fail "insert of 100 rows"
answer=$(rpc '{"op":"select","table":"t"}' "$ALL" runs)
[ "$(jq -r '.error.code' <<<"$answer")" = too_big ] || fail "a 10 KB result under a 4 KB cap: $answer"
[ "$(jq 'has("rows")' <<<"$answer")" = false ] || fail "too_big carried rows"
# A result under the cap still comes back whole.
rpc '{"op":"select","table":"t","where":"s = ?","params":["a"]}' "$ALL" runs \
  | jq -e '.rows == [["a"]]' >/dev/null || fail "a small select after too_big"

# The client reports both with the code and exits 1.
run wsql "$WS/runs?cap=$ALL" "$forever"
expect_rc 1
grep -q timeout "$TMP/err" || fail "client stderr lacks 'timeout': $(cat "$TMP/err")"
run wsql "$WS/runs?cap=$ALL" 'SELECT s FROM t'
expect_rc 1
grep -q too_big "$TMP/err" || fail "client stderr lacks 'too_big': $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] || fail "the client printed rows of a too_big result"
server_alive
echo "ok"
