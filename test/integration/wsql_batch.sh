#!/usr/bin/env bash
# 100,000 rows stream in through `wsql insert` in batches, over WebSocket
# (JSON Lines in) and HTTP (msgpack in); every row arrives once.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
python3 -c '
import json
for i in range(100000):
    print(json.dumps({"task": i, "output": {"x": i * 0.5}, "worker": "w%d" % (i % 7), "ms": 1.25}))
' >"$TMP/rows.jsonl"

run timeout 120 wsql insert --create "$WS/runs?cap=$ALL" results <"$TMP/rows.jsonl"
expect_rc 0
expect_err "inserted 100000 row(s) into 'results'"
run wsql "$WS/runs?cap=$ALL" 'SELECT count(*) AS n, count(DISTINCT task) AS d, sum(task) AS s FROM results'
expect_out '{"n":100000,"d":100000,"s":4999950000}'

# The same rows as msgpack over HTTP, in batches of 2000, into a table
# made beforehand: the record stream format is detected. (A POST may hold
# the server 1 s, --http-timeout: 7000 rows took longer under ASan on a
# loaded machine.)
wsql query "$WS/runs?cap=$ALL" 'SELECT task, output, worker, ms FROM results' -f msgpack >"$TMP/rows.mp"
run timeout 120 wsql insert --batch 2000 --create "http://127.0.0.1:$PORT/runs?cap=$ALL" copy <"$TMP/rows.mp"
expect_rc 0
run wsql "$WS/runs?cap=$ALL" 'SELECT count(*) AS n FROM copy WHERE output = json_object(?, task * 0.5)' x
expect_out '{"n":100000}'

# A batch with one bad row is refused whole and says which row.
printf '{"task":1}\n{"task":2}\n{"nope":3}\n' >"$TMP/bad.jsonl"
run wsql insert --batch 10 "$WS/runs?cap=$ALL" results <"$TMP/bad.jsonl"
expect_rc 1
expect_err "row 3: table results has no column named nope"
run wsql "$WS/runs?cap=$ALL" 'SELECT count(*) AS n FROM results'
expect_out '{"n":100000}'
server_alive
