#!/usr/bin/env bash
# The client: output formats, parameters, databases/tables/schema, and exit
# codes that tell denied (77), not found (66), bad request (65) and SQL
# errors (1) apart; ws:// and http:// alike.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
U="$WS/runs?cap=$ALL"

run wsql "$U" 'CREATE TABLE m (id INTEGER PRIMARY KEY, name TEXT, loss REAL)'
expect_rc 0
run wsql "$U" 'INSERT INTO m (name, loss) VALUES (?, ?), (?, ?)' alpha 0.05 'b,"c"' 0.5
expect_rc 0
expect_err "2 row(s) changed"

run wsql "$U" 'SELECT name, loss FROM m WHERE loss < ?' 0.1
expect_out '{"name":"alpha","loss":0.05}'
run wsql -f csv "$U" 'SELECT name, loss FROM m ORDER BY id'
[ "$(cat "$TMP/out")" = "$(printf 'name,loss\nalpha,0.05\n"b,""c""",0.5')" ] || fail "csv: $(cat "$TMP/out")"
run wsql "$U" 'SELECT name, loss FROM m ORDER BY id' -f tsv
[ "$(sed -n 3p "$TMP/out")" = "$(printf 'b,"c"\t0.5')" ] || fail "tsv: $(cat "$TMP/out")"
run wsql query -f table "$U" 'SELECT id, name FROM m'
expect_out "id | name"
expect_out "(2 rows)"
run wsql "$U" 'SELECT ? AS a, ? AS b, ? AS c, ? AS d' 42 '"42"' null text
expect_out '{"a":42,"b":"42","c":null,"d":"text"}'
run wsql "$HTTP/runs?cap=$ALL" 'SELECT count(*) AS n FROM m'
expect_out '{"n":2}'
run env W_CAP="$ALL" wsql "$WS/runs" 'SELECT count(*) AS n FROM m'
expect_out '{"n":2}'

run wsql databases "$WS?cap=$ALL"
[ "$(cat "$TMP/out")" = runs ] || fail "databases: $(cat "$TMP/out")"
run wsql tables "$U"
[ "$(cat "$TMP/out")" = m ] || fail "tables: $(cat "$TMP/out")"
run wsql schema "$U" m
jq -e '.table == "m" and (.columns | length) == 3' "$TMP/out" >/dev/null || fail "schema: $(cat "$TMP/out")"

# Exit codes.
run wsql "$U" 'SELECT * FROM nope'
expect_rc 66
expect_err "wsql: error: not_found: no such table: nope"
run wsql "$WS/other?cap=$ALL" 'SELECT 1'
expect_rc 66
expect_err "database 'other' does not exist"
run wsql "$U" 'SELEKT 1'
expect_rc 1
expect_err 'wsql: error: sql: near "SELEKT": syntax error'
run wsql "$U" 'SELECT ?' 1 2
expect_rc 65
expect_err "bad_request: the statement has 1 placeholders but 2 params were given"
run wsql "$WS/runs?cap=$(mint read runs)" 'DELETE FROM m'
expect_rc 77
run wsql "$HTTP/runs?cap=$(mint read runs)" 'DELETE FROM m'
expect_rc 77
expect_err "denied"
stop_server
run wsql --timeout 2 "$U" 'SELECT 1'
expect_rc 75
run wsql --timeout 2 "$HTTP/runs?cap=$ALL" 'SELECT 1'
expect_rc 75
expect_err "http://127.0.0.1:$PORT/rpc unreachable"
