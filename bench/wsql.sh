#!/usr/bin/env bash
# wsql beside PostgreSQL 15 in one run, on the same machine and disk, the
# same table sizes, each server pinned to core 0 and its load to core 1:
#   1. point select by primary key, 2 clients: wsql over WebSocket,
#      pipelined (bench/wsql_bench.cc) vs `pgbench -S -c 2 -j 2`
#   2. single-row durable inserts, 1 client: wsql requests of one row each
#      (acknowledged after their group commit) vs pgbench running one
#      autocommit INSERT per transaction
#   3. batch insert: `wsql insert` of a file of rows vs PostgreSQL's COPY
# PostgreSQL runs as a throwaway cluster in a temporary directory (as the
# postgres user when run as root), with its default, durable settings.
# Usage: bench/wsql.sh [BUILD_DIR]
#   SECS (seconds per timed run, default 10), ROWS (batch rows, 1000000)
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
SECS=${SECS:-10}
ROWS=${ROWS:-1000000}
KEYS=100000 # pgbench scale 1: 100,000 accounts
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
WSQL=$B/bin/wsql
LOAD=$B/bench/wsql_bench
for f in "$WSQL" "$LOAD"; do
  [ -x "$f" ] || { echo "bench/wsql.sh: error: build $f first (cmake --build $B)" >&2; exit 1; }
done
for f in postgres initdb pg_ctl pgbench psql; do
  [ -x "$PG_BIN/$f" ] || {
    echo "bench/wsql.sh: error: $PG_BIN/$f is missing: apt-get install postgresql postgresql-contrib" >&2
    exit 1
  }
done
if [ "$(nproc)" -ge 2 ]; then SERVER_CPU="taskset -c 0"; LOAD_CPU="taskset -c 1"; else SERVER_CPU=""; LOAD_CPU=""; fi

tmp=$(mktemp -d)
chmod 755 "$tmp"
wsql_pid=""
pg_up=0
# as_pg CMD...: PostgreSQL refuses to run as root; use its own user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  if [ -n "$wsql_pid" ]; then kill "$wsql_pid" 2>/dev/null || true; wait "$wsql_pid" 2>/dev/null || true; fi
  [ "$pg_up" = 0 ] || as_pg "$PG_BIN/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
say() { echo "bench/wsql.sh: $*" >&2; }

# ---------------------------------------------------------------- data
# The same rows for both: history rows (pgbench's table) as JSON Lines for
# wsql and CSV for COPY.
python3 - "$ROWS" "$tmp" <<'EOF'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
with open(d + "/rows.jsonl", "w") as j, open(d + "/rows.csv", "w") as c:
    for i in range(n):
        t, a, dl = i % 10 + 1, i % 100000 + 1, i % 10001 - 5000
        j.write('{"tid":%d,"bid":1,"aid":%d,"delta":%d,"mtime":%d}\n' % (t, a, dl, i))
        c.write('%d,1,%d,%d,%d\n' % (t, a, dl, i))
with open(d + "/accounts.jsonl", "w") as j:
    pad = " " * 84  # pgbench's filler is char(84)
    for a in range(1, 100001):
        j.write('{"aid":%d,"bid":1,"abalance":0,"filler":"%s"}\n' % (a, pad))
EOF
cat >"$tmp/insert.sql" <<'EOF'
\set aid random(1, 100000)
\set delta random(-5000, 5000)
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);
EOF
chmod 644 "$tmp"/*

# ---------------------------------------------------------------- wsql
say "wsql: server on core 0, load on core 1"
key=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
$SERVER_CPU "$WSQL" serve --dir "$tmp/wsql" --listen 127.0.0.1:0 --key "$key" 2>"$tmp/wsql.log" &
wsql_pid=$!
for _ in $(seq 100); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$tmp/wsql.log" | sed 's/.*://' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/wsql.log" >&2; exit 1; }
U="ws://127.0.0.1:$port/bench?cap=$key"
rpc() { curl -sf -X POST "http://127.0.0.1:$port/rpc?db=bench&cap=$key" -d "$1" >/dev/null; }
rpc '{"op":"create_db","db":"bench"}'
rpc '{"op":"create","table":"accounts","columns":{"aid":"INTEGER PRIMARY KEY","bid":"INTEGER","abalance":"INTEGER","filler":"CHAR(84)"}}'
for t in history batch; do
  rpc "{\"op\":\"create\",\"table\":\"$t\",\"columns\":{\"tid\":\"INTEGER\",\"bid\":\"INTEGER\",\"aid\":\"INTEGER\",\"delta\":\"INTEGER\",\"mtime\":\"INTEGER\"}}"
done
"$WSQL" insert -q "$U" accounts <"$tmp/accounts.jsonl"

w_select=$($LOAD_CPU "$LOAD" select "$U" --clients 2 --window 64 --seconds "$SECS" --keys "$KEYS")
say "wsql point select: $w_select ops/s"
w_insert=$($LOAD_CPU "$LOAD" insert "$U" --window 64 --seconds "$SECS")
say "wsql single-row insert: $w_insert rows/s"
t0=$(now)
$LOAD_CPU "$WSQL" insert -q "$U" batch <"$tmp/rows.jsonl"
t1=$(now)
got=$("$WSQL" "$U" 'SELECT count(*) AS n FROM batch' | jq .n)
[ "$got" = "$ROWS" ] || { say "error: batch table has $got rows, not $ROWS"; exit 1; }
w_batch=$(echo "$ROWS / ($t1 - $t0)" | bc -l)
say "wsql batch insert: $(printf %.0f "$w_batch") rows/s"
commits=$(curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "wsql_commits_total" {print $2}')
kill "$wsql_pid"
wait "$wsql_pid" 2>/dev/null || true
wsql_pid=""

# ---------------------------------------------------------------- PostgreSQL
say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'): throwaway cluster in $tmp/pg"
mkdir -p "$tmp/pg" "$tmp/sock"
[ "$(id -u)" != 0 ] || chown postgres "$tmp/pg" "$tmp/sock"
as_pg "$PG_BIN/initdb" -D "$tmp/pg" -U postgres --auth=trust -E UTF8 >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log" >&2; exit 1; }
pg_port=$(free_port)
# Defaults kept (fsync=on, synchronous_commit=on): every COMMIT waits for
# its WAL flush. Only the addresses differ: TCP on 127.0.0.1 and a socket
# in the temporary directory.
as_pg $SERVER_CPU "$PG_BIN/pg_ctl" -D "$tmp/pg" -l "$tmp/sock/pg.log" -w \
  -o "-p $pg_port -k $tmp/sock -c listen_addresses=127.0.0.1" start >/dev/null
pg_up=1
PGARGS=(-h 127.0.0.1 -p "$pg_port" -U postgres)
$LOAD_CPU "$PG_BIN/pgbench" "${PGARGS[@]}" -i -s 1 -q postgres >/dev/null 2>&1
tps() { awk '/^tps = / {print $3; exit}'; }
p_select=$($LOAD_CPU "$PG_BIN/pgbench" "${PGARGS[@]}" -S -c 2 -j 2 -T "$SECS" -n postgres 2>/dev/null | tps)
say "PostgreSQL point select (pgbench -S -c 2 -j 2): $p_select tps"
p_insert=$($LOAD_CPU "$PG_BIN/pgbench" "${PGARGS[@]}" -f "$tmp/insert.sql" -c 1 -T "$SECS" -n postgres 2>/dev/null | tps)
say "PostgreSQL autocommit insert (pgbench -f insert.sql -c 1): $p_insert tps"
"$PG_BIN/psql" "${PGARGS[@]}" -qX -c 'CREATE TABLE batch (tid int, bid int, aid int, delta int, mtime bigint)' postgres
t0=$(now)
$LOAD_CPU "$PG_BIN/psql" "${PGARGS[@]}" -qX -c '\copy batch FROM STDIN WITH (FORMAT csv)' postgres <"$tmp/rows.csv"
t1=$(now)
p_batch=$(echo "$ROWS / ($t1 - $t0)" | bc -l)
say "PostgreSQL COPY: $(printf %.0f "$p_batch") rows/s"

# ---------------------------------------------------------------- table
row() { # figure wsql postgres target(x or rows/s) kind
  awk -v f="$1" -v w="$2" -v p="$3" -v t="$4" -v k="$5" 'BEGIN {
    r = w / p
    if (k == "ratio") { ok = r >= t ? "met" : "MISSED"; ts = sprintf(">= %gx", t) }
    else { ok = w >= t ? "met" : "MISSED"; ts = sprintf(">= %d rows/s", t) }
    printf "| %-34s | %10.0f | %10.0f | %6.2fx | %-16s | %-6s |\n", f, w, p, r, ts, ok }'
}
echo
echo "wsql vs PostgreSQL 15, $(nproc) cores, ${SECS}s per timed run, $ROWS batch rows"
echo "| figure                             |       wsql |   postgres |  ratio | target           | result |"
echo "|------------------------------------|-----------:|-----------:|-------:|------------------|--------|"
row "point select, 2 clients (ops/s)" "$w_select" "$p_select" 2 ratio
row "durable single-row insert (rows/s)" "$w_insert" "$p_insert" 10 ratio
row "batch insert (rows/s)" "$w_batch" "$p_batch" 500000 abs
echo
echo "Durability of an acknowledged insert:"
echo "  wsql: WAL, synchronous=FULL; the answer is sent after the group COMMIT"
echo "        holding the row returned (one WAL fsync per group; $commits commits in all)."
echo "        The client keeps 64 one-row requests in flight, so a group holds many."
echo "  postgres: fsync=on, synchronous_commit=on; each autocommit INSERT is"
echo "        answered after its COMMIT record was flushed. One request at a time."
echo "Batch: wsql insert of JSON Lines (batches of 10000, 4 in flight) vs psql \\copy (CSV)."
