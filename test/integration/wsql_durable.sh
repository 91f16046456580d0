#!/usr/bin/env bash
# Group commit keeps durability: every insert the server acknowledged is
# on disk after kill -9, and the database opens cleanly again.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create","table":"d","columns":{"i":"INTEGER PRIMARY KEY"}}' "$ALL" runs >/dev/null
# One row per request, acknowledged one by one (a window of 4 in flight).
seq 1 3000 | sed 's/.*/{"i":&}/' | timeout 60 wsql insert -q --batch 1 "$WS/runs?cap=$ALL" d
crash_and_restart
run wsql "$WS/runs?cap=$ALL" 'SELECT count(*) AS n FROM d'
expect_out '{"n":3000}'
run wsql "$WS/runs?cap=$ALL" 'PRAGMA integrity_check'
expect_out '"ok"'
server_alive
