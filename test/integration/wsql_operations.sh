#!/usr/bin/env bash
# Every operation of the protocol over POST /rpc against a real server,
# blobs included; /metrics and /api/status answer.
source "$(dirname "$0")/wsql_common.sh"
start_server --memory scratch
ALL=$(mint all)

ok() { # ok JSON [DB]: the request succeeds; its answer on stdout
  local a
  a=$(rpc "$1" "$ALL" "${2:-runs}")
  echo "$a" | jq -e 'has("error") | not' >/dev/null || fail "$1 -> $a"
  echo "$a"
}

ok '{"op":"create_db","db":"runs"}' | jq -e '.created' >/dev/null
ok '{"op":"create","table":"m","columns":{"id":"INTEGER PRIMARY KEY","name":"TEXT UNIQUE","loss":"REAL","w":"BLOB"}}' >/dev/null
ok '{"op":"insert","table":"m","rows":[{"name":"a","loss":0.05,"w":{"$b64":"AP8BAg=="}},{"name":"b","loss":0.5}]}' \
  | jq -e '.changes == 2 and .last_id == 2' >/dev/null || fail "insert"
ok '{"op":"insert","table":"m","row":{"name":"c","loss":0.01}}' | jq -e '.changes == 1' >/dev/null
ok '{"op":"select","table":"m","columns":["name","w"],"where":"loss < ?","params":[0.1],"order":"name"}' \
  | jq -ce '.rows' >"$TMP/rows"
[ "$(cat "$TMP/rows")" = '[["a",{"$b64":"AP8BAg=="}],["c",null]]' ] || fail "select: $(cat "$TMP/rows")"
ok '{"op":"count","table":"m","where":"loss > ?","params":[0.02]}' | jq -e '.count == 2' >/dev/null || fail count
ok '{"op":"update","table":"m","set":{"loss":0.2},"where":"name = ?","params":["b"]}' | jq -e '.changes == 1' >/dev/null
ok '{"op":"create","table":"m2","columns":{"id":"INTEGER PRIMARY KEY","name":"TEXT"}}' >/dev/null
ok '{"op":"insert","table":"m2","columns":["id","name"],"rows":[[1,"dup"],[9,"z"]]}' >/dev/null
ok '{"op":"merge","table":"m","from":"m2"}' | jq -e '.changes == 1' >/dev/null || fail merge
ok '{"op":"delete","table":"m","where":"name = ?","params":["z"]}' | jq -e '.changes == 1' >/dev/null
ok '{"op":"sql","sql":"SELECT count(*) AS n, sum(loss) AS s FROM m"}' | jq -e '.columns == ["n","s"] and .rows[0][0] == 3' >/dev/null
ok '{"op":"tables"}' | jq -e '[.tables[].name] == ["m","m2"]' >/dev/null || fail tables
ok '{"op":"schema","table":"m"}' | jq -e '.schema[0].columns[0] == {"name":"id","type":"INTEGER","notnull":false,"default":null,"pk":1}' >/dev/null || fail schema
ok '{"op":"drop","table":"m2"}' | jq -e '.dropped' >/dev/null
ok '{"op":"databases"}' | jq -e '.databases == ["runs","scratch"]' >/dev/null || fail databases
ok '{"op":"restrict","rights":"read"}' | jq -r .cap >"$TMP/weak"
grep -q '^w1:wsql:runs:1:0:' "$TMP/weak" || fail "restrict: $(cat "$TMP/weak")"
ok '{"op":"create","table":"x","columns":{"a":"INT"}}' scratch >/dev/null
ok '{"op":"insert","table":"x","row":{"a":1}}' scratch | jq -e '.changes == 1' >/dev/null

# A batch of requests is answered in order with their ids; one failing
# request does not stop the others.
rpc '[{"id":1,"op":"count","table":"m"},{"id":2,"op":"select","table":"nope"},{"id":3,"op":"count","table":"m"}]' "$ALL" runs \
  | jq -ce '[.[] | .id]' | grep -qx '\[1,2,3\]' || fail "batch ids"
rpc '[{"id":1,"op":"count","table":"m"},{"id":2,"op":"select","table":"nope"}]' "$ALL" runs \
  | jq -e '.[1].error.code == "not_found"' >/dev/null || fail "batch error"

# A single failing request gets a matching HTTP status.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$HTTP/rpc?db=runs" -d '{"op":"tables"}')
[ "$code" = 403 ] || fail "no capability: HTTP $code"

# msgpack in, msgpack out (first byte 0x81: a map of one entry).
printf '\x81\xa2op\xa9databases' >"$TMP/req.mp"
curl -s -X POST "$HTTP/rpc?cap=$ALL" --data-binary @"$TMP/req.mp" -o "$TMP/ans.mp"
head -c 1 "$TMP/ans.mp" | od -An -tx1 | grep -q 81 || fail "msgpack answer"

ok '{"op":"drop_db","db":"runs"}' | jq -e '.dropped' >/dev/null
[ ! -e "$TMP/data/runs.db" ] || fail "drop_db left the file"

curl -s "$HTTP/metrics" >"$TMP/metrics"
grep -q '^wsql_requests_total{op="insert"} 4$' "$TMP/metrics" || fail "metrics: $(grep insert "$TMP/metrics")"
grep -q '^wsql_commits_total ' "$TMP/metrics" || fail "metrics: no commits"
curl -s "$HTTP/api/status" | jq -e '.service == "wsql" and .requests > 20' >/dev/null || fail status
server_alive
