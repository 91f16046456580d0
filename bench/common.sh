# shellcheck shell=bash
# bench/common.sh: what the bench scripts share. Source it once B (the
# build directory) is set:  . "$(dirname "$0")/common.sh"
# It gives the script:
#   work        a temporary directory, removed at exit
#   pids        the processes the script started (append to it); each is
#               stopped at exit, the last started first
#   at_exit     commands (strings) run at exit before the pids are stopped
#   stop_pids, listening_port, cores_free: below

work=$(mktemp -d)
pids=()
at_exit=()

stop_pids() { # stops everything started so far, the last started first (workers before their pool)
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  pids=()
}

bench_exit() {
  local c
  for c in "${at_exit[@]}"; do eval "$c" || true; done
  stop_pids
  rm -rf "$work"
}
trap bench_exit EXIT

# listening_port LOG: the port a wpool/wsql/wsig logged as "listening on
# 127.0.0.1:PORT" in LOG, waiting up to 10 s; fails with the log shown.
listening_port() {
  local port=
  for _ in $(seq 1 200); do
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$1" 2>/dev/null | tail -1 | cut -d: -f2 || true)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  echo "$(basename "$0"): error: the server did not start:" >&2
  cat "$1" >&2
  return 1
}

# cores_free: CPU seconds two parallel copies of the 10 ms loop got per
# wall second (2.00 on an idle 2-core machine): no speed-up beats it, and
# below ~1.9 the figures are noise.
cores_free() {
  local TIMEFORMAT='%R %U %S' t r u s
  t=$({ time { "$B/bench/busy_baseline" 100 >/dev/null & "$B/bench/busy_baseline" 100 >/dev/null; wait; }; } 2>&1)
  read -r r u s <<<"$t"
  echo "($u + $s) / $r" | bc -l | xargs printf '%.2f'
}

# start_bench_pg NAME: a throwaway PostgreSQL 15 cluster in $work/pg on a
# free port (PG_BIN, as the postgres user when run as root), fsync and
# synchronous_commit on as shipped, stopped at exit. Sets pg_up (1 if it
# runs), pg_port, and pg_note (why it does not, when PG=0 or no initdb).
# NAME prefixes its errors.
start_bench_pg() {
  PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
  pg_up=0 pg_note=
  if [ "${PG:-1}" = 0 ]; then
    pg_note="PostgreSQL skipped (PG=0)"
    return 0
  elif [ ! -x "$PG_BIN/initdb" ]; then
    pg_note="PostgreSQL skipped: no $PG_BIN/initdb (apt-get install postgresql)"
    return 0
  fi
  chmod 755 "$work"
  mkdir -p "$work/pg"
  [ "$(id -u)" != 0 ] || chown postgres "$work/pg"
  as_pg "$PG_BIN/initdb" -D "$work/pg" -U wkit --auth=trust -E UTF8 --no-locale >"$work/initdb.log" 2>&1 ||
    { echo "$1: error: initdb: $(tail -3 "$work/initdb.log")" >&2; exit 1; }
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w -o "-p $pg_port -k $work/pg \
    -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200" start >/dev/null
  pg_up=1
  at_exit+=('as_pg "$PG_BIN/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1')
  local durable
  durable=$("$PG_BIN/psql" -XAtq "postgresql://wkit@127.0.0.1:$pg_port/postgres" \
    -c "SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')")
  [ "$durable" = on/on ] || { echo "$1: error: PostgreSQL fsync/synchronous_commit: $durable" >&2; exit 1; }
}
# as_pg CMD...: PostgreSQL refuses to run as root; use its own user then.
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
