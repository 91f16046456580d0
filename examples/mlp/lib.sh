# Helpers for examples/mlp/run.sh and bench/mlp.sh (sourced, not run): start
# a real wsql server, a real wpool and native wrun workers on free local
# ports, and stop exactly the processes started here. The caller sets
# `build` (the build directory) and defines fail().
# shellcheck shell=bash
: "${build:?lib.sh needs build, the build directory}"

MLP_TMP=$(mktemp -d)
MLP_PIDS=()   # everything started here, stopped by mlp_stop_all
MLP_WORKERS=() # the worker PIDs, stopped by mlp_stop_workers
trap 'mlp_stop_all; rm -rf "$MLP_TMP"' EXIT

# mlp_port LOG PID WHAT: waits (10 s at most) for "listening on 127.0.0.1:N"
# in LOG and sets MLP_PORT to N (not printed: fail() must not run in a
# subshell, where its message would be lost).
mlp_port() {
  local i
  MLP_PORT=
  for i in $(seq 1 200); do
    MLP_PORT=$(grep -so 'listening on 127.0.0.1:[0-9]*' "$1" | tail -1 | sed 's/.*://' || true)
    [[ -n $MLP_PORT ]] && return 0
    kill -0 "$2" 2>/dev/null || fail "$3 exited: $(tail -3 "$1")"
    sleep 0.05
  done
  fail "$3 did not say where it listens: $(tail -3 "$1")"
}

# mlp_start_pool: wpool serve on a free port; sets POOL (and W_POOL).
mlp_start_pool() {
  "$build/bin/wpool" serve --db "$MLP_TMP/pool.db" --listen 127.0.0.1:0 2>>"$MLP_TMP/pool.log" &
  MLP_PIDS+=($!)
  mlp_port "$MLP_TMP/pool.log" $! wpool
  POOL=ws://127.0.0.1:$MLP_PORT
  export W_POOL=$POOL
}

# mlp_start_wsql: wsql serve on a free port with a fresh secret, and a
# database "mlp"; sets DB, the database's URL with an all-rights capability.
mlp_start_wsql() {
  "$build/bin/wsql" serve --dir "$MLP_TMP/data" --listen 127.0.0.1:0 \
    --secret "$MLP_TMP/wsql.secret" 2>>"$MLP_TMP/wsql.log" &
  MLP_PIDS+=($!)
  local cap
  mlp_port "$MLP_TMP/wsql.log" $! wsql
  cap=$("$build/bin/wsql" cap --secret "$MLP_TMP/wsql.secret" --db mlp --rights all)
  curl -sf -m 10 -X POST "http://127.0.0.1:$MLP_PORT/rpc?cap=$cap" \
    -d '{"op": "create_db", "db": "mlp"}' >/dev/null || fail "wsql: cannot create the database"
  # shellcheck disable=SC2034 # for the caller
  DB="ws://127.0.0.1:$MLP_PORT/mlp?cap=$cap"
}

# mlp_start_workers N: N native workers of one slot each, and waits (10 s at
# most) until the pool sees them all.
mlp_start_workers() {
  local i n=$1
  for i in $(seq 1 "$n"); do
    "$build/bin/wrun" "$POOL" -j 1 --name "mlp-$i" --cache "$MLP_TMP/cache-$i" -q \
      2>>"$MLP_TMP/worker-$i.log" &
    MLP_PIDS+=($!)
    MLP_WORKERS+=($!)
  done
  for i in $(seq 1 200); do
    [[ $("$build/bin/wpool" workers --json 2>/dev/null |
      jq '[.[] | select(.connected)] | length' 2>/dev/null) == "$n" ]] && return 0
    sleep 0.05
  done
  fail "only some of $n workers connected: $(tail -3 "$MLP_TMP/worker-1.log")"
}

# mlp_stop PID...: SIGTERM (a worker drains, a server commits and exits),
# then waits; SIGKILL after 10 s.
mlp_stop() {
  local p i
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for i in $(seq 1 200); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

mlp_stop_workers() {
  ((${#MLP_WORKERS[@]})) || return 0
  mlp_stop "${MLP_WORKERS[@]}"
  local keep=() p w gone
  for p in "${MLP_PIDS[@]}"; do
    gone=0
    for w in "${MLP_WORKERS[@]}"; do [[ $p == "$w" ]] && gone=1; done
    ((gone)) || keep+=("$p")
  done
  MLP_PIDS=("${keep[@]}")
  MLP_WORKERS=()
}

# mlp_stop_all: workers first (they would only reconnect), then the servers.
mlp_stop_all() {
  mlp_stop_workers
  ((${#MLP_PIDS[@]})) || return 0
  mlp_stop "${MLP_PIDS[@]}"
  MLP_PIDS=()
}

# mlp_running: how many of the processes started here are still alive.
mlp_running() {
  local p n=0
  for p in "${MLP_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
  echo "$n"
}
