# Helpers for tests of the pool on PostgreSQL: a throwaway PostgreSQL 15
# cluster of the test's own (initdb + pg_ctl), on a free 127.0.0.1 port,
# trust auth on loopback, its data in a directory of its own that goes at
# exit. As root (CI) the server runs as the unprivileged postgres user, as
# PostgreSQL requires; otherwise as the current user. Sourced after
# pool_common.sh (it uses fail and cleanup_pool).
PG_BIN=${W_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_PID=""

# pg_as CMD...: runs CMD as the user the cluster belongs to, from / (the
# postgres user may not enter the caller's directory).
pg_as() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stop_postgres: stops the cluster this script started (pg_ctl, then its
# PID if pg_ctl could not), and removes its data.
stop_postgres() {
  [ -n "$PG_DIR" ] || return 0
  if [ -n "$PG_PID" ]; then
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 20 stop >/dev/null 2>&1 ||
      kill -9 "$PG_PID" 2>/dev/null || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=""
}
# A failing test shows the end of PostgreSQL's log first: the cluster and
# its log go with the test.
pg_log_on_failure() {
  [ "$1" = 0 ] || [ -z "$PG_DIR" ] || [ ! -f "$PG_DIR/server.log" ] ||
    { echo "--- PostgreSQL's log (last 30 lines):"; tail -30 "$PG_DIR/server.log"; } >&2
}
trap 'pg_log_on_failure $?; stop_postgres; cleanup_pool' EXIT

# start_postgres: initdb + start; sets PG_PORT, PG_PID and PG_URL (of the
# database "postgres", user "wkit", no password).
start_postgres() {
  [ -x "$PG_BIN/initdb" ] || fail "no PostgreSQL 15 in $PG_BIN: scripts/deps.sh installs postgresql"
  PG_DIR=$(mktemp -d /tmp/wkit-pg-XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U wkit --auth=trust -E UTF8 --no-locale \
    >"$PG_DIR/initdb.log" 2>&1 || fail "initdb: $(tail -5 "$PG_DIR/initdb.log")"
  local attempt
  # The free port may be taken before the server binds it: try another.
  for attempt in 1 2 3; do
    PG_PORT=$(pg_free_port)
    if pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR" start >/dev/null 2>&1; then
      PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
      PG_URL=postgresql://wkit@127.0.0.1:$PG_PORT/postgres
      return 0
    fi
  done
  fail "PostgreSQL did not start: $(tail -5 "$PG_DIR/server.log")"
}

# pg_sql DB SQL: runs SQL on database DB of the cluster, unaligned output.
pg_sql() {
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "postgresql://wkit@127.0.0.1:$PG_PORT/$1" -c "$2"
}

# pg_createdb NAME: a fresh database; prints its URL.
pg_createdb() {
  pg_sql postgres "CREATE DATABASE $1" >/dev/null
  echo "postgresql://wkit@127.0.0.1:$PG_PORT/$1"
}

# serve I [PORT]: pool I (of several) on database $POOL_DB, its log
# $TMP/poolI.log; sets PPID_I and PORT_I.
serve() {
  local i=$1 want=${2:-0} starts
  starts=$(($(grep -c 'listening on' "$TMP/pool$i.log" 2>/dev/null || true) + 1))
  wpool serve --db "$POOL_DB" --listen "127.0.0.1:$want" --heartbeat 1s 2>>"$TMP/pool$i.log" &
  eval "PPID_$i=$!"
  PIDS+=($!)
  local n port
  for n in $(seq 1 200); do
    if [ "$(grep -c 'listening on' "$TMP/pool$i.log")" -ge "$starts" ]; then
      port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/pool$i.log" | tail -1 | cut -d: -f2)
      eval "PORT_$i=$port"
      return 0
    fi
    sleep 0.05
  done
  fail "pool $i did not start: $(cat "$TMP/pool$i.log")"
}

# worker NAME I [ARGS...]: a one-slot wrun of pool I, its log
# $TMP/worker-NAME.log; sets WORKER_PID.
worker() {
  local name=$1 port
  eval "port=\$PORT_$2"
  shift 2
  wrun "ws://127.0.0.1:$port" --name "$name" --cache "$TMP/cache-$name" -j 1 "$@" \
    2>>"$TMP/worker-$name.log" &
  WORKER_PID=$!
  PIDS+=($!)
}

# on I CMD...: a client command against pool I.
on() {
  local port
  eval "port=\$PORT_$1"
  shift
  W_POOL=ws://127.0.0.1:$port "$@"
}

# kill_pool_mid_campaign I N: once a fifth of N results is in and pool I
# holds tasks (it learns of a campaign within a second), kill -9 of pool I;
# sets done_at_kill and held (the tasks it held, which must go to others).
kill_pool_mid_campaign() {
  local i=$1 n=$2 pid killed
  eval "pid=\$PPID_$i"
  killed=$(pg_sql shared "SELECT id FROM pools WHERE host LIKE '% pid $pid'")
  for _ in $(seq 1 1200); do
    [ "$(pg_sql shared "SELECT (SELECT count(*) FROM results) >= $((n / 5)) AND
      EXISTS (SELECT 1 FROM tasks WHERE pool=$killed AND state=0)")" = t ] && break
    sleep 0.02
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  done_at_kill=$(pg_sql shared 'SELECT count(*) FROM results')
  [ "$done_at_kill" -lt "$n" ] || fail "the campaign ended before the kill: make it longer"
  held=$(pg_sql shared "SELECT count(*) FROM tasks WHERE pool=$killed AND state=0")
  [ "$held" -gt 0 ] || fail "the killed pool held no task: the test tests nothing"
}
