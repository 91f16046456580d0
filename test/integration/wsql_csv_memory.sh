#!/usr/bin/env bash
# --map serves a CSV file as a read-only table in every database; --memory
# serves a scratch database two clients exchange rows through.
source "$(dirname "$0")/wsql_common.sh"
printf 'id,name,score\n1,alice,3.5\n2,"bob, jr",4\n3,carol,\n' >"$TMP/people.csv"
start_server --map people="$TMP/people.csv" --memory exchange
ALL=$(mint all)

run wsql "$WS/exchange?cap=$ALL" 'SELECT name FROM people WHERE CAST(score AS REAL) > ? ORDER BY id' 3.6
[ "$(cat "$TMP/out")" = '{"name":"bob, jr"}' ] || fail "csv select: $(cat "$TMP/out") $(cat "$TMP/err")"
run wsql tables "$WS/exchange?cap=$ALL"
expect_out people
for sql in "INSERT INTO people VALUES ('4', 'x', '1')" "DELETE FROM people" "DROP TABLE people" \
  "CREATE VIRTUAL TABLE leak USING csvtable('/etc/passwd')"; do
  run wsql "$WS/exchange?cap=$ALL" "$sql"
  expect_rc 77
done
[ "$(wc -l <"$TMP/people.csv")" = 4 ] || fail "the CSV file changed"

# Two "campaigns" meet in the in-memory database: one writes, one reads.
wsql -q "$WS/exchange?cap=$ALL" 'CREATE TABLE handoff (k TEXT PRIMARY KEY, v REAL)'
printf '{"k":"a","v":1}\n{"k":"b","v":2}\n' | wsql -q insert "$HTTP/exchange?cap=$ALL" handoff
run wsql "$WS/exchange?cap=$(mint read exchange)" 'SELECT sum(v) AS s FROM handoff'
expect_out '{"s":3.0}'
[ ! -e "$TMP/data/exchange.db" ] || fail "the in-memory database has a file"
run wsql databases "$WS?cap=$ALL"
expect_out exchange

# A map of a missing file, or a bad name, stops the server at start.
run wsql serve --dir "$TMP/d2" --listen 127.0.0.1:0 --secret "$SECRET" --map x="$TMP/missing.csv"
expect_rc 66
expect_err "missing.csv"
run wsql serve --dir "$TMP/d2" --listen 127.0.0.1:0 --secret "$SECRET" --map ../x="$TMP/people.csv"
expect_rc 65
expect_err "bad table name"
server_alive
