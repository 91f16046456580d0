#!/usr/bin/env bash
# wsql beside PostgreSQL 15 in one run, on the same machine and disk, the
# same tables, each server pinned to core 0 and its load to core 1, at
# equal concurrency: for 1, 2, 16 and 64 requests in flight (FLIGHTS),
#   1. point select by primary key: wsql_bench's WebSocket connections (2
#      once there are 2 or more in flight, each pipelining its share) vs
#      `pgbench -S -c N` (N connections, one request each)
#   2. single-row durable inserts, the same way: a wsql request of one row
#      is answered after the group commit that holds it; pgbench runs one
#      autocommit INSERT per transaction, answered after its WAL flush
#   3. batch insert: `wsql insert` of JSON Lines and of msgpack vs COPY
# Throughput and the latency of one request (p50, p99: send to answer;
# pgbench's per-transaction log) on both sides. Both servers run through
# the timed loads, and the point selects at 1 and 2 in flight (the rows
# with a target) alternate wsql, PostgreSQL and the floor ROUNDS times,
# each reported by its median run, so a drift of the machine's speed
# during the run falls on both. The floor (bench/rtt_floor) is a round trip
# over loopback TCP to a server that does nothing: what the kernel and the
# wake-ups cost any server; the table gives each server's time above it.
# On a VM that wake-up is most of a round trip (the sender's wake-up of a
# sleeping vCPU exits to the host), so the rows at 1 and 2 in flight run
# once more with the load on the server's core (ONE_CORE=1, the default
# with 2 cores or more): a wake-up is then a context switch, and what is
# left above the floor is each server's own work.
# PostgreSQL runs as a throwaway cluster in a temporary directory (as the
# postgres user when run as root), with its default, durable settings.
# Usage: bench/wsql.sh [BUILD_DIR]
#   SECS (seconds per timed run, default 5), ROWS (batch rows, 1000000),
#   FLIGHTS (requests in flight, "1 2 16 64"), BUSY_POLL (wsql serve
#   --busy-poll of the second set of wsql rows, 0.2ms), ROUNDS (runs of
#   each side at 1 and 2 in flight, 3), ONE_CORE (0: no rows with the load
#   on the server's core)
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
SECS=${SECS:-5}
FLIGHTS=${FLIGHTS:-"1 2 16 64"}
ROWS=${ROWS:-1000000}
BUSY_POLL=${BUSY_POLL:-0.2ms}
ROUNDS=${ROUNDS:-3}
ONE_CORE=${ONE_CORE:-1}
KEYS=100000 # pgbench scale 1: 100,000 accounts
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
WSQL=$B/bin/wsql
LOAD=$B/bench/wsql_bench
FLOOR=$B/bench/rtt_floor
for f in "$WSQL" "$LOAD" "$FLOOR"; do
  [ -x "$f" ] || { echo "bench/wsql.sh: error: build $f first (cmake --build $B)" >&2; exit 1; }
done
for f in postgres initdb pg_ctl pgbench psql; do
  [ -x "$PG_BIN/$f" ] || {
    echo "bench/wsql.sh: error: $PG_BIN/$f is missing: apt-get install postgresql postgresql-contrib" >&2
    exit 1
  }
done
if [ "$(nproc)" -ge 2 ]; then SERVER_CPU="taskset -c 0"; LOAD_CPU="taskset -c 1"; else SERVER_CPU=""; LOAD_CPU=""; ONE_CORE=0; fi
LOAD_AT=$LOAD_CPU # where load() and pg() run: LOAD_CPU, or SERVER_CPU for the one-core rows

. "$(dirname "$0")/common.sh"
tmp=$work
chmod 755 "$tmp"
wsql_pid=""
pg_up=0
# as_pg CMD...: PostgreSQL refuses to run as root; use its own user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
at_exit+=('[ -z "$wsql_pid" ] || { kill "$wsql_pid" 2>/dev/null; wait "$wsql_pid" 2>/dev/null; }'
  '[ "$pg_up" = 0 ] || as_pg "$PG_BIN/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null 2>&1')
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
say() { echo "bench/wsql.sh: $*" >&2; }

# ---------------------------------------------------------------- data
# The same rows for both: history rows (pgbench's table) as JSON Lines for
# wsql and CSV for COPY.
/usr/bin/python3 - "$ROWS" "$tmp" <<'EOF' # Debian's: it has python3-msgpack
import sys
n, d = int(sys.argv[1]), sys.argv[2]
with open(d + "/rows.jsonl", "w") as j, open(d + "/rows.csv", "w") as c:
    for i in range(n):
        t, a, dl = i % 10 + 1, i % 100000 + 1, i % 10001 - 5000
        j.write('{"tid":%d,"bid":1,"aid":%d,"delta":%d,"mtime":%d}\n' % (t, a, dl, i))
        c.write('%d,1,%d,%d,%d\n' % (t, a, dl, i))
import json, msgpack
with open(d + "/rows.jsonl") as j, open(d + "/rows.msgpack", "wb") as m:
    for line in j:
        m.write(msgpack.packb(json.loads(line)))
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
# pg N ARGS...: pgbench with N connections; prints the same JSON line as
# wsql_bench, its latencies from pgbench's per-transaction log (microseconds,
# the third field).
pg() {
  local n=$1 log="$tmp/pglog.$1.$RANDOM" tps
  shift
  tps=$(cd "$tmp" && $LOAD_AT "$PG_BIN/pgbench" "${PGARGS[@]}" "$@" -c "$n" -j $((n < 2 ? n : 2)) \
    -T "$SECS" -n -l --log-prefix="$log" postgres 2>/dev/null | awk '/^tps = / {print $3; exit}')
  cat "$log".* | awk '{print $3}' | sort -n | awk -v tps="$tps" -v n="$n" '
    { v[NR] = $1 }
    END { printf "{\"ops_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"in_flight\":%d}\n",
          tps, v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, n }'
  rm -f "$log".*
}
# ---------------------------------------------------------------- wsql
say "wsql: server on core 0, load on core 1"
key=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
$SERVER_CPU "$WSQL" serve --dir "$tmp/wsql" --listen 127.0.0.1:0 --key "$key" 2>"$tmp/wsql.log" &
wsql_pid=$!
port=$(listening_port "$tmp/wsql.log")
U="ws://127.0.0.1:$port/bench?cap=$key"
rpc() { curl -sf -X POST "http://127.0.0.1:$port/rpc?db=bench&cap=$key" -d "$1" >/dev/null; }
rpc '{"op":"create_db","db":"bench"}'
rpc '{"op":"create","table":"accounts","columns":{"aid":"INTEGER PRIMARY KEY","bid":"INTEGER","abalance":"INTEGER","filler":"CHAR(84)"}}'
for t in history batch; do
  rpc "{\"op\":\"create\",\"table\":\"$t\",\"columns\":{\"tid\":\"INTEGER\",\"bid\":\"INTEGER\",\"aid\":\"INTEGER\",\"delta\":\"INTEGER\",\"mtime\":\"INTEGER\"}}"
done
"$WSQL" insert -q "$U" accounts <"$tmp/accounts.jsonl"

# load MODE N: wsql_bench with N requests in flight; prints its JSON line.
load() {
  local clients=1
  (($2 >= 2)) && clients=2
  $LOAD_AT "$LOAD" "$1" "$U" --clients "$clients" --window $(($2 / clients)) --seconds "$SECS" \
    --keys "$KEYS"
}
# ---------------------------------------------------------------- timed loads
# median RUN...: of JSON lines, the one with the median ops_per_s.
median() { printf '%s\n' "$@" | jq -sc 'sort_by(.ops_per_s) | .[length / 2 | floor]'; }
floor() { if [ -n "$SERVER_CPU" ]; then "$FLOOR" "$1" "$SECS" 0 "${2:-1}"; else "$FLOOR" "$1" "$SECS"; fi; }
declare -A W P PP F
# selects_on_one_core N: the point selects at N in flight again, with the
# load on core 0 beside the server (W, P, PP, F under one$N).
selects_on_one_core() {
  local n=$1 ws=() ps=() pps=() fs=() r
  LOAD_AT=$SERVER_CPU
  for ((r = 0; r < ROUNDS; r++)); do
    ws+=("$(load select "$n")")
    ps+=("$(pg "$n" -S)")
    pps+=("$(pg "$n" -S -M prepared)")
    fs+=("$(floor "$n" 0)")
  done
  LOAD_AT=$LOAD_CPU
  W[one$n]=$(median "${ws[@]}")
  P[one$n]=$(median "${ps[@]}")
  PP[one$n]=$(median "${pps[@]}")
  F[one$n]=$(median "${fs[@]}")
  say "point select, $n in flight, load on the server's core: wsql ${W[one$n]}, PostgreSQL ${P[one$n]}, with -M prepared ${PP[one$n]}, floor ${F[one$n]}"
}
for n in $FLIGHTS; do
  rounds=1
  ((n <= 2)) && rounds=$ROUNDS
  ws=() ps=() pps=() fs=()
  for ((r = 0; r < rounds; r++)); do
    ws+=("$(load select "$n")")
    ps+=("$(pg "$n" -S)")
    if ((n <= 2)); then
      pps+=("$(pg "$n" -S -M prepared)")
      fs+=("$(floor "$n")")
    fi
  done
  W[select$n]=$(median "${ws[@]}")
  P[select$n]=$(median "${ps[@]}")
  if ((n <= 2)); then
    PP[select$n]=$(median "${pps[@]}")
    F[select$n]=$(median "${fs[@]}")
  fi
  say "point select, $n in flight (median of $rounds): wsql ${W[select$n]}, PostgreSQL (pgbench -S -c $n) ${P[select$n]}${PP[select$n]:+, with -M prepared ${PP[select$n]}}${F[select$n]:+, floor ${F[select$n]}}"
  ((n <= 2 && ONE_CORE)) && selects_on_one_core "$n"
  W[insert$n]=$(load insert "$n")
  P[insert$n]=$(pg "$n" -f "$tmp/insert.sql")
  say "single-row insert, $n in flight: wsql ${W[insert$n]}, PostgreSQL (pgbench -f insert.sql -c $n) ${P[insert$n]}"
done
# batch_insert TABLE FILE FORMAT: rows/s of `wsql insert`, checked by count.
batch_insert() {
  local t0 t1 got
  t0=$(now)
  $LOAD_CPU "$WSQL" insert -q "$U" "$1" <"$2"
  t1=$(now)
  got=$("$WSQL" "$U" "SELECT count(*) AS n FROM $1" | jq .n)
  [ "$got" = "$ROWS" ] || { say "error: $1 has $got rows, not $ROWS"; exit 1; }
  echo "$ROWS / ($t1 - $t0)" | bc -l
}
rpc '{"op":"create","table":"batch_mp","columns":{"tid":"INTEGER","bid":"INTEGER","aid":"INTEGER","delta":"INTEGER","mtime":"INTEGER"}}'
w_batch=$(batch_insert batch "$tmp/rows.jsonl")
say "wsql batch insert, JSON Lines: $(printf %.0f "$w_batch") rows/s"
w_batch_mp=$(batch_insert batch_mp "$tmp/rows.msgpack")
say "wsql batch insert, msgpack: $(printf %.0f "$w_batch_mp") rows/s"
commits=$(curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "wsql_commits_total" {print $2}')
kill "$wsql_pid"
wait "$wsql_pid" 2>/dev/null || true
wsql_pid=""

# The same loads on the same databases, the server started again with
# --busy-poll (it polls, a core busy, while requests come closer than
# that); its CPU seconds per request beside the throughput.
$SERVER_CPU "$WSQL" serve --dir "$tmp/wsql" --listen 127.0.0.1:0 --key "$key" --busy-poll "$BUSY_POLL" \
  2>"$tmp/wsql-poll.log" &
wsql_pid=$!
port=$(listening_port "$tmp/wsql-poll.log")
U="ws://127.0.0.1:$port/bench?cap=$key"
declare -A WB
for n in $FLIGHTS; do
  for mode in select insert; do
    c0=$(awk '{ print $14 + $15 }' "/proc/$wsql_pid/stat")
    WB[$mode$n]=$(load "$mode" "$n")
    c1=$(awk '{ print $14 + $15 }' "/proc/$wsql_pid/stat")
    WB[cpu$mode$n]=$(echo "($c1 - $c0) / 100 / $SECS" | bc -l)
    say "wsql --busy-poll $BUSY_POLL $mode, $n in flight: ${WB[$mode$n]} (server $(printf %.2f "${WB[cpu$mode$n]}") cores)"
  done
done
kill "$wsql_pid"
wait "$wsql_pid" 2>/dev/null || true
wsql_pid=""
"$PG_BIN/psql" "${PGARGS[@]}" -qX -c 'CREATE TABLE batch (tid int, bid int, aid int, delta int, mtime bigint)' postgres
t0=$(now)
$LOAD_CPU "$PG_BIN/psql" "${PGARGS[@]}" -qX -c '\copy batch FROM STDIN WITH (FORMAT csv)' postgres <"$tmp/rows.csv"
t1=$(now)
p_batch=$(echo "$ROWS / ($t1 - $t0)" | bc -l)
say "PostgreSQL COPY: $(printf %.0f "$p_batch") rows/s"
# ---------------------------------------------------------------- tables
# A row: in flight, wsql and PostgreSQL (ops/s, p50, p99), the throughput
# ratio and, for point selects at 1 and 2 in flight, the target (>= 1.2x,
# issue 19: one request must not lose).
row() { # N WSQL_JSON PG_JSON KIND
  jq -rn --argjson w "$2" --argjson p "$3" --arg n "$1" --arg kind "$4" '
    ($w.ops_per_s / $p.ops_per_s) as $r
    | (if $kind == "select" and ($n|tonumber) <= 2 then (if $r >= 1.2 then ">= 1.2x met" else ">= 1.2x MISSED" end) else "" end) as $t
    | "| \($n) | \($w.ops_per_s) | \($w.p50_ms) | \($w.p99_ms) | \($p.ops_per_s) | \($p.p50_ms) | \($p.p99_ms) | \($r * 100 | round / 100)x | \($t) |"'
}
table() { # KIND TITLE
  echo
  echo "$2"
  echo "| in flight | wsql ops/s | p50 ms | p99 ms | postgres ops/s | p50 ms | p99 ms | ratio | target |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for n in $FLIGHTS; do row "$n" "${W[$1$n]}" "${P[$1$n]}" "$1"; done
}
echo
echo "wsql vs PostgreSQL 15, $(nproc) cores (server on core 0, load on core 1), ${SECS} s per run"
echo
echo "Point select by primary key (wsql: 1 connection, or 2 each with half in flight; postgres: pgbench -S -c N;"
echo "at 1 and 2 in flight the median of $ROUNDS alternating runs of each, beside the floor: a loopback TCP"
echo "round trip to a server that does nothing, and each server's time per request above it)"
echo "| in flight | wsql ops/s | p50 ms | p99 ms | postgres ops/s | p50 ms | p99 ms | ratio | target | postgres -M prepared | ratio | floor ops/s | wsql us above floor | postgres us above floor | -M prepared |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
# with_floor KEY N: a row with the prepared and floor columns.
with_floor() {
  echo "$(row "$2" "${W[$1]}" "${P[$1]}" select) $(jq -rn --argjson w "${W[$1]}" \
    --argjson p "${P[$1]}" --argjson pp "${PP[$1]}" --argjson f "${F[$1]}" --argjson n "$2" '
      def above(x): ($n / x.ops_per_s - $n / $f.ops_per_s) * 1e6 * 10 | round / 10;
      "\($pp.ops_per_s) | \($w.ops_per_s / $pp.ops_per_s * 100 | round / 100)x | \($f.ops_per_s) | \(above($w)) | \(above($p)) | \(above($pp)) |"')"
}
for n in $FLIGHTS; do
  if [ -n "${F[select$n]:-}" ]; then
    with_floor "select$n" "$n"
  else
    echo "$(row "$n" "${W[select$n]}" "${P[select$n]}" select) | | | | | |"
  fi
done
if ((ONE_CORE)) && [ -n "${F[one1]:-}${F[one2]:-}" ]; then
  echo
  echo "The same with the load on the server's core (core 0): no wake-up of another vCPU, each server's own time"
  echo "| in flight | wsql ops/s | p50 ms | p99 ms | postgres ops/s | p50 ms | p99 ms | ratio | target | postgres -M prepared | ratio | floor ops/s | wsql us above floor | postgres us above floor | -M prepared |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
  for n in 1 2; do [ -z "${F[one$n]:-}" ] || with_floor "one$n" "$n"; done
fi
for mode in select insert; do
  echo
  echo "The same, $mode, with wsql serve --busy-poll $BUSY_POLL (last column: the wsql server's cores busy)"
  echo "| in flight | wsql ops/s | p50 ms | p99 ms | postgres ops/s | p50 ms | p99 ms | ratio | target | wsql cores |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
  for n in $FLIGHTS; do
    echo "$(row "$n" "${WB[$mode$n]}" "${P[$mode$n]}" "$mode") $(printf %.2f "${WB[cpu$mode$n]}") |"
  done
done
table insert "Durable single-row insert (wsql: as above, each answered after its group commit; postgres: pgbench -c N, autocommit INSERT)"
echo
echo "Batch insert of $ROWS rows (target: >= 0.5x COPY)"
echo "| input | wsql rows/s | postgres COPY rows/s | ratio | target |"
echo "|---|---:|---:|---:|---|"
for b in "JSON Lines:$w_batch" "msgpack:$w_batch_mp"; do
  awk -v f="${b%%:*}" -v w="${b#*:}" -v p="$p_batch" 'BEGIN {
    r = w / p; ok = (r >= 0.5) ? "met" : "MISSED"
    printf "| %s | %.0f | %.0f | %.2fx | >= 0.5x %s |\n", f, w, p, r, ok }'
done
echo
echo "Durability of an acknowledged insert:"
echo "  wsql: WAL, synchronous=FULL; the answer is sent after the group COMMIT"
echo "        holding the row returned (one WAL fsync per group; $commits commits in all)."
echo "  postgres: fsync=on, synchronous_commit=on; each autocommit INSERT is"
echo "        answered after its COMMIT record was flushed (commits of concurrent"
echo "        connections share flushes)."
echo "Batch: wsql insert (batches of 10000, 4 in flight) vs psql \\copy (CSV)."
