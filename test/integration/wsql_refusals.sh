#!/usr/bin/env bash
# Attacks that must fail with the right code and change nothing: values
# that look like SQL, a second statement in where, ATTACH, load_extension,
# a write through raw SQL with a read capability, ../ in database names.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
READ=$(mint read runs)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create","table":"users","columns":{"name":"TEXT","secret":"TEXT"}}' "$ALL" runs >/dev/null
rpc '{"op":"insert","table":"users","rows":[{"name":"ann","secret":"s1"},{"name":"bob","secret":"s2"}]}' "$ALL" runs >/dev/null
before=$(sha256sum "$TMP/data/runs.db")

# A value is only a value.
rpc '{"op":"select","table":"users","where":"name = ?","params":["x'"'"' OR '"'"'1'"'"'='"'"'1"]}' "$READ" runs \
  | jq -e '.rows == []' >/dev/null || fail "injection through a value"
# A where with a second statement, or one that writes, is refused.
expect_code '{"op":"select","table":"users","where":"1; DROP TABLE users"}' sql "$READ" runs
expect_code '{"op":"select","table":"users","where":"1) UNION SELECT 1,2 FROM users; DELETE FROM users; --"}' bad_request "$READ" runs
expect_code '{"op":"sql","sql":"DELETE FROM users"}' denied "$READ" runs
expect_code '{"op":"sql","sql":"UPDATE users SET secret = ?","params":["x"]}' denied "$READ" runs
expect_code '{"op":"sql","sql":"ATTACH ? AS x","params":["'"$TMP"'/stolen.db"]}' denied "$ALL" runs
expect_code '{"op":"sql","sql":"SELECT load_extension(?)","params":["/usr/lib/x86_64-linux-gnu/libsqlite3_mod_csvtable.so"]}' denied "$ALL" runs
expect_code '{"op":"sql","sql":"PRAGMA journal_mode = DELETE"}' denied "$ALL" runs
expect_code '{"op":"sql","sql":"CREATE TABLE t2(a)"}' denied "$(mint read,write runs)" runs
[ ! -e "$TMP/stolen.db" ] || fail "ATTACH created a file"

# Names cannot leave --dir.
mkdir -p "$TMP/outside"
for name in ../outside/x .. ../../etc/passwd a/b; do
  expect_code "{\"op\":\"create_db\",\"db\":\"$name\"}" bad_request
  expect_code '{"op":"tables"}' bad_request "$ALL" "$name"
done
[ -z "$(ls -A "$TMP/outside")" ] || fail "a database was created outside --dir"
# Over WebSocket the name in the path is checked the same way.
run wsql "$WS/..%2Foutside%2Fy?cap=$ALL" 'CREATE TABLE t(a)'
[ "$rc" -ne 0 ] || fail "a statement ran on ../outside/y"

[ "$(sha256sum "$TMP/data/runs.db")" = "$before" ] || fail "the database file changed"
rpc '{"op":"select","table":"users","order":"name"}' "$READ" runs | jq -ce '.rows' | grep -qx '\[\["ann","s1"\],\["bob","s2"\]\]' || fail "rows changed"
server_alive
