#!/usr/bin/env bash
# The wsql tour from the first command: `wsql create` makes the database
# (the README's first insert used to fail: only a raw POST could create
# one), `insert --create` makes it too, and `drop` deletes it only with
# --yes. Rights: create and drop need `db`.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
READ=$(mint read)

# Before: an insert into a database that does not exist fails.
run wsql insert "$WS/runs?cap=$ALL" results <<<'{"x":1}'
expect_rc 66
expect_err "database 'runs' does not exist"

run wsql create "$WS/runs?cap=$ALL"
expect_rc 0
expect_err "database 'runs' created"
[ -f "$TMP/data/runs.db" ] || fail "no runs.db after create"
run wsql create "$WS/runs?cap=$ALL"
[ "$rc" -ne 0 ] || fail "a second create succeeded"
expect_err "already exists"
run wsql create "$WS/runs?cap=$ALL" --if-missing
expect_rc 0
expect_err "exists already"
run wsql create "$WS/other?cap=$READ"
expect_rc 77
[ ! -e "$TMP/data/other.db" ] || fail "a read capability created a database"
run wsql create "$WS/?cap=$ALL"
expect_rc 2
expect_err "names no database"

# insert --create makes the database and the table.
printf '{"x":1,"y":"a"}\n{"x":2,"y":"b"}\n' >"$TMP/in"
run wsql insert --create "$WS/fresh?cap=$ALL" t <"$TMP/in"
expect_rc 0
run wsql "$WS/fresh?cap=$ALL" 'SELECT sum(x) AS s FROM t'
expect_rc 0
expect_out '{"s":3}'

# drop: refused without --yes (nothing deleted), then done.
run wsql drop "$WS/fresh?cap=$ALL"
expect_rc 2
expect_err "add --yes"
[ -f "$TMP/data/fresh.db" ] || fail "drop without --yes deleted the database"
run wsql drop "$WS/fresh?cap=$READ" --yes
expect_rc 77
[ -f "$TMP/data/fresh.db" ] || fail "a read capability dropped the database"
run wsql drop "$WS/fresh?cap=$ALL" --yes
expect_rc 0
expect_err "database 'fresh' dropped"
[ ! -e "$TMP/data/fresh.db" ] || fail "fresh.db is still there"
run wsql drop "$WS/fresh?cap=$ALL" --yes
[ "$rc" -ne 0 ] || fail "dropping a missing database succeeded"
run wsql drop "$WS/fresh?cap=$ALL" --yes --if-exists
expect_rc 0
server_alive
echo ok
