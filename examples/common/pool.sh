# pool.sh — sourced by the case studies' run.sh: a throwaway pool on this
# machine for coupled tasks. pool_start starts wsig, then wpool serve --sig
# pointing at it, then $2 wrun workers of $3 slots each, all on free ports
# of 127.0.0.1 with their state in a temporary directory (EXAMPLE_LINK, the
# workers' --link: auto [default] links members directly, off relays every
# message through wsig); pool_stop (also
# run on exit) stops exactly those processes. pool_run runs one coupled
# task through the pool and writes its result record like wrun does.
#
#   . "$here/../common/pool.sh"
#   pool_start "$build" 2 2          # wsig + wpool + 2 workers × 2 slots
#   echo '{"x":1}' | pool_run name kernel.so 4 out.jsonl
#   pool_stop

POOL_PIDS=()
POOL_TMP=""

pool_stop() {
  local p
  for p in "${POOL_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${POOL_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  POOL_PIDS=()
  [[ -n $POOL_TMP ]] && rm -rf "$POOL_TMP"
  POOL_TMP=""
}

# pool_port LOG PATTERN: the port after PATTERN in LOG, waiting 10 s at most.
pool_port() {
  local i port
  for i in $(seq 1 200); do
    port=$(grep -o "$2[0-9]*" "$1" 2>/dev/null | head -1 | sed "s/^$2//")
    [[ -n $port ]] && echo "$port" && return 0
    sleep 0.05
  done
  return 1
}

# pool_start BUILD WORKERS SLOTS: sets POOL (the pool's URL), SIG and
# POOL_SLOTS (the slots of all workers: the largest group that can run).
pool_start() {
  local build=$1 workers=$2 slots=$3 i port
  POOL_SLOTS=$((workers * slots))
  POOL_TMP=$(mktemp -d)
  trap pool_stop EXIT
  "$build/bin/wsig" --host 127.0.0.1 --port 0 2>"$POOL_TMP/wsig.log" &
  POOL_PIDS+=($!)
  port=$(pool_port "$POOL_TMP/wsig.log" "listening on 127.0.0.1:") ||
    { echo "wsig did not start: $(cat "$POOL_TMP/wsig.log")" >&2; return 1; }
  SIG=ws://127.0.0.1:$port/
  "$build/bin/wpool" serve --db "$POOL_TMP/pool.db" --listen 127.0.0.1:0 --sig "$SIG" \
    2>"$POOL_TMP/wpool.log" &
  POOL_PIDS+=($!)
  port=$(pool_port "$POOL_TMP/wpool.log" "listening on 127.0.0.1:") ||
    { echo "wpool did not start: $(cat "$POOL_TMP/wpool.log")" >&2; return 1; }
  POOL=ws://127.0.0.1:$port
  for i in $(seq 1 "$workers"); do
    "$build/bin/wrun" "$POOL" --name "w$i" -j "$slots" --cache "$POOL_TMP/cache-$i" \
      --link "${EXAMPLE_LINK:-auto}" 2>"$POOL_TMP/wrun-$i.log" &
    POOL_PIDS+=($!)
  done
  # Every worker connected before the first task, so a group can spread.
  for i in $(seq 1 200); do
    [[ $("$build/bin/wpool" workers --pool "$POOL" --json 2>/dev/null |
      jq '[.[] | select(.connected)] | length' 2>/dev/null) == "$workers" ]] && return 0
    sleep 0.05
  done
  echo "only some of $workers workers connected" >&2
  return 1
}

# pool_run BUILD CAMPAIGN KERNEL K OUT: the dataset on stdin as one task of a
# new campaign with --group K; waits for it and writes its result to OUT.
pool_run() {
  local build=$1 campaign=$2 kernel=$3 k=$4 out=$5
  "$build/bin/wpool" submit "$campaign" --pool "$POOL" --kernel "$kernel" --group "$k" \
    --timeout 5m --max-attempts 1 -q || return 1
  "$build/bin/wpool" wait "$campaign" --pool "$POOL" --timeout 10m >/dev/null || return 1
  "$build/bin/wpool" results "$campaign" --pool "$POOL" >"$out"
}

# pool_logs: the servers' and workers' logs, for a failure message.
pool_logs() {
  local f
  for f in "$POOL_TMP"/*.log; do
    echo "== $(basename "$f")"
    tail -5 "$f"
  done
}

# The case studies run each split either as a campaign on this pool or
# through `wrun --group K` alone ($EXAMPLE_MODE). Both call fail() of the
# sourcing script.
#
# coupled_start BUILD MODE: starts the pool (4 workers of 1 slot) in pool
# mode, and says which mode runs and how busy the machine is (timings mean
# little on a busy one).
coupled_start() {
  case $2 in
    pool)
      pool_start "$1" 4 1 || fail "could not start the pool"
      echo "pool mode: wsig $SIG, wpool $POOL, 4 workers of 1 slot"
      ;;
    filter) echo "filter mode: wrun --group K -j K" ;;
    *) fail "EXAMPLE_MODE is $2, not pool or filter" ;;
  esac
  echo "machine: $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
}

# coupled_task BUILD MODE KERNEL NAME K RESULT: the dataset on stdin as one
# task of K members (campaign NAME in pool mode), its result record in RESULT.
coupled_task() {
  local build=$1 mode=$2 kernel=$3 name=$4 k=$5 result=$6
  if [[ $mode == pool ]]; then
    ((k <= POOL_SLOTS)) || fail "$name needs $k slots, the pool has $POOL_SLOTS"
    pool_run "$build" "$name" "$kernel" "$k" "$result" || {
      pool_logs >&2
      fail "$name: the campaign failed (logs above)"
    }
  else
    "$build/bin/wrun" -k "$kernel" --group "$k" -j "$k" --timeout 5m --no-input >"$result" ||
      fail "wrun exited with status $? on $name"
  fi
}
