#!/usr/bin/env bash
# Rights exactly as named. `table` creates and drops schema objects and
# writes no rows: not through CREATE TABLE ... AS SELECT, not through a
# DELETE (once allowed because DROP TABLE deletes rows), not through a
# cascade. A trigger runs under the rights of whoever fires it, so only a
# capability with read, write and table may create one. And no database
# file is reached through a symbolic link, whatever the link points at.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
T=$(mint table runs)
RT=$(mint read,table runs)
WT=$(mint write,table runs)
RW=$(mint read,write runs)
RWT=$(mint read,write,table runs)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create","table":"users","columns":{"name":"TEXT","secret":"TEXT"}}' "$ALL" runs >/dev/null
rpc '{"op":"insert","table":"users","rows":[{"name":"ann","secret":"s1"},{"name":"bob","secret":"s2"}]}' "$ALL" runs >/dev/null
count_users() { rpc '{"op":"count","table":"users"}' "$ALL" runs | jq -r .count; }

# CREATE TABLE ... AS SELECT writes rows: it needs write too.
expect_code '{"op":"sql","sql":"CREATE TABLE copy AS SELECT * FROM users"}' denied "$RT" runs
expect_code '{"op":"count","table":"copy"}' not_found "$ALL" runs
# A DELETE is a row write, whatever the table right allows DROP to do.
expect_code '{"op":"sql","sql":"DELETE FROM users"}' denied "$T" runs
expect_code '{"op":"sql","sql":"DELETE FROM users"}' denied "$RT" runs
[ "$(count_users)" = 2 ] || fail "rows were deleted with the table right"
# DROP TABLE of a parent whose child rows cascade would delete those rows.
rpc '{"op":"sql","sql":"CREATE TABLE p(id INTEGER PRIMARY KEY)"}' "$ALL" runs >/dev/null
rpc '{"op":"sql","sql":"CREATE TABLE c(pid INTEGER REFERENCES p(id) ON DELETE CASCADE)"}' "$ALL" runs >/dev/null
rpc '{"op":"sql","sql":"INSERT INTO p VALUES (1)"}' "$ALL" runs >/dev/null
rpc '{"op":"sql","sql":"INSERT INTO c VALUES (1)"}' "$ALL" runs >/dev/null
expect_code '{"op":"sql","sql":"DROP TABLE p"}' denied "$T" runs
rpc '{"op":"count","table":"c"}' "$ALL" runs | jq -e '.count == 1' >/dev/null || fail "the cascade deleted child rows"
# What the table right is for still works, and writes no rows.
for sql in "CREATE TABLE t2(a INTEGER CHECK (a > 0), b AS (a * 2))" "CREATE INDEX t2a ON t2(a)" \
  "CREATE VIEW v2 AS SELECT a FROM t2" "DROP VIEW v2" "DROP INDEX t2a" "ALTER TABLE t2 ADD COLUMN c TEXT" \
  "ALTER TABLE t2 RENAME TO t3" "ALTER TABLE t3 RENAME COLUMN c TO d" "ALTER TABLE t3 DROP COLUMN d" \
  "DROP TABLE t3" "DROP TABLE users"; do
  rpc "{\"op\":\"sql\",\"sql\":\"$sql\"}" "$T" runs | jq -e 'has("error") | not' >/dev/null ||
    fail "table right: $sql: $(rpc "{\"op\":\"sql\",\"sql\":\"$sql\"}" "$T" runs)"
done
rpc '{"op":"create","table":"users","columns":{"name":"TEXT","secret":"TEXT"}}' "$ALL" runs >/dev/null
rpc '{"op":"insert","table":"users","rows":[{"name":"ann","secret":"s1"}]}' "$ALL" runs >/dev/null

# Triggers: only with read, write and table.
rpc '{"op":"create","table":"audit","columns":{"who":"TEXT","what":"TEXT"}}' "$ALL" runs >/dev/null
trigger='CREATE TRIGGER steal AFTER INSERT ON users BEGIN INSERT INTO audit SELECT name, secret FROM users; END'
for cap in "$T" "$RT" "$WT" "$RW"; do
  expect_code "{\"op\":\"sql\",\"sql\":\"$trigger\"}" denied "$cap" runs
done
rpc '{"op":"insert","table":"users","row":{"name":"cy","secret":"s3"}}' "$(mint write runs)" runs >/dev/null
rpc '{"op":"count","table":"audit"}' "$ALL" runs | jq -e '.count == 0' >/dev/null || fail "a trigger fired"
rpc "{\"op\":\"sql\",\"sql\":\"$trigger\"}" "$RWT" runs | jq -e 'has("error") | not' >/dev/null ||
  fail "read,write,table cannot create a trigger"

# Symbolic links never lead out of --dir: not to an existing database...
mkdir -p "$TMP/outside"
python3 -c "
import sqlite3
c = sqlite3.connect('$TMP/outside/victim.db')
c.execute('CREATE TABLE secret(v TEXT)'); c.execute(\"INSERT INTO secret VALUES ('outside')\"); c.commit()"
ln -s "$TMP/outside/victim.db" "$TMP/data/evil.db"
expect_code '{"op":"tables"}' denied "$ALL" evil
expect_code '{"op":"sql","sql":"SELECT * FROM secret"}' denied "$ALL" evil
rpc '{"op":"databases"}' "$ALL" | jq -e '.databases | index("evil") == null' >/dev/null || fail "a link is listed"
# ...nor to a file it would create...
ln -s "$TMP/outside/made.db" "$TMP/data/made.db"
expect_code '{"op":"create_db","db":"made"}' denied
[ ! -e "$TMP/outside/made.db" ] || fail "create_db wrote through a link"
# ...nor through a link beside a real database (its WAL),...
rpc '{"op":"create_db","db":"w"}' >/dev/null
stop_server
ln -s "$TMP/outside/w.db-wal" "$TMP/data/w.db-wal"
start_server
expect_code '{"op":"sql","sql":"CREATE TABLE x(a)"}' denied "$ALL" w
[ ! -e "$TMP/outside/w.db-wal" ] || fail "the WAL was written through a link"
# ...nor when the data directory itself is swapped for a link while serving.
rpc '{"op":"create_db","db":"keep"}' >/dev/null
stop_server
start_server
mv "$TMP/data" "$TMP/data.real"
cp -r "$TMP/data.real" "$TMP/elsewhere"
ln -s "$TMP/elsewhere" "$TMP/data"
expect_code '{"op":"tables"}' denied "$ALL" keep
rm "$TMP/data" && mv "$TMP/data.real" "$TMP/data"
rpc '{"op":"tables"}' "$ALL" keep | jq -e '.tables == []' >/dev/null || fail "the real directory after the swap"
# The victim file is untouched.
python3 -c "
import sqlite3
assert sqlite3.connect('$TMP/outside/victim.db').execute('SELECT v FROM secret').fetchall() == [('outside',)]"
server_alive
echo ok
