#!/usr/bin/env bash
# A table moves between two servers: `wsql copy` (client side, creating
# the destination like the source) and the server's copy operation; merge
# then combines copies without duplicates. Blobs and NULLs survive.
source "$(dirname "$0")/wsql_common.sh"
DATA="$TMP/a" start_server
A=$WS A_HTTP=$HTTP
DATA="$TMP/b" start_server
B=$WS
ALL=$(mint all)
HTTP=$A_HTTP rpc '{"op":"create_db","db":"src"}' >/dev/null
HTTP=$HTTP rpc '{"op":"create_db","db":"dst"}' >/dev/null
wsql "$A/src?cap=$ALL" 'CREATE TABLE m (id INTEGER PRIMARY KEY, name TEXT NOT NULL, w BLOB, loss REAL)'
python3 -c '
import json
for i in range(12000):
    print(json.dumps({"id": i + 1, "name": "n%d" % i, "w": {"$b64": "AAEC"} if i % 2 else None, "loss": i / 7}))
' | wsql insert "$A/src?cap=$ALL" m

run timeout 60 wsql copy --create "$A/src/m?cap=$ALL" "$B/dst/copy1?cap=$ALL"
expect_rc 0
expect_err "copied 12000 row(s) from 'm' to 'copy1'"
run wsql "$B/dst?cap=$ALL" 'SELECT count(*) AS n, sum(w IS NULL) AS nulls, sum(loss) AS s FROM copy1'
expect_out '{"n":12000,"nulls":6000,"s":'
run wsql -f csv "$B/dst?cap=$ALL" 'SELECT name, w FROM copy1 WHERE id = 2'
[ "$(sed -n 2p "$TMP/out")" = "n1,AAEC" ] || fail "blob: $(cat "$TMP/out")"
run wsql schema "$B/dst?cap=$ALL" copy1
jq -e '.columns[0].pk == 1' "$TMP/out" >/dev/null || fail "primary key lost: $(cat "$TMP/out")"

# The server pulls the table itself (over a WebSocket: it runs in the
# background); then merge adds only new keys.
timeout 60 python3 "$W_SRC/test/integration/wsql_ws.py" "$B/dst?cap=$ALL" \
  "{\"op\":\"copy\",\"table\":\"copy2\",\"from\":\"$A/src/m?cap=$ALL\",\"if_not_exists\":true}" \
  | cut -f2 | jq -e '.changes == 12000' >/dev/null || fail "server copy"
wsql "$B/dst?cap=$ALL" 'DELETE FROM copy1 WHERE id > 6000'
rpc '{"op":"merge","table":"copy1","from":"copy2"}' "$ALL" dst | jq -e '.changes == 6000' >/dev/null || fail merge
run wsql "$B/dst?cap=$ALL" 'SELECT count(*) AS n FROM copy1'
expect_out '{"n":12000}'

# Without a table in the source URL, or with a read-only destination: refused.
run wsql copy "$A/src?cap=$ALL" "$B/dst/x?cap=$ALL"
expect_rc 65
expect_err "names no table"
run wsql copy "$A/src/m?cap=$ALL" "$B/dst/copy1?cap=$(mint read dst)"
expect_rc 77
server_alive
