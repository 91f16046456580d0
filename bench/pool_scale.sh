#!/usr/bin/env bash
# Many active workers on one wpool (issue 17): bench/pool_load's simulated
# one-slot workers, each taking RATE tasks/s of a no-op campaign and
# returning every result, against one pool on a SQLite file (durable, as
# always). For each row: the tasks/s offered (workers x rate) and achieved,
# their ratio, how fast the pool refills a worker (results sent -> next
# tasks received, p50 and p99), the slots' idle time, the pool's CPU and
# its peak resident memory.
# Then PG_ROWS the same over three pools sharing one PostgreSQL database (a
# throwaway cluster, durable), the workers split in three pool_load
# processes, one per pool: achieved is their sum, p50 their mean, p99 the
# worst of the three, pool_cpu and pool_MiB the three pools' sum.
# Usage: bench/pool_scale.sh [BUILD_DIR]
#   ROWS="10000x1 1000x10" (workers x tasks/s each), PG_ROWS="10000x1"
#   (PG=0 or PG_ROWS="" skips them), SECONDS_PER_ROW=20, WARMUP=5 set the
#   sizes.
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
ROWS=${ROWS-"1000x10 10000x1"}
PG_ROWS=${PG_ROWS-"10000x1"}
SECONDS_PER_ROW=${SECONDS_PER_ROW:-20}
WARMUP=${WARMUP:-5}
export PATH="$B/bin:$PATH"
. "$(dirname "$0")/common.sh"

# Every worker is a socket on both sides: the pool and the load each need
# one descriptor per worker and some.
need=0
for row in $ROWS; do ((${row%x*} > need)) && need=${row%x*}; done
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < need + 100)); then
  echo "pool_scale.sh: error: ulimit -n is $(ulimit -n); $((need + 100)) descriptors are needed" >&2
  exit 1
fi

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

printf '%-8s %6s %10s %10s %6s %10s %10s %6s %8s %9s %8s\n' workers rate offered/s \
  achieved/s ratio p50_ms p99_ms idle pool_cpu pool_MiB load_cpu
for row in $ROWS; do
  n=${row%x*} rate=${row#*x}
  db="$work/pool-$n.db"
  # Half of --max-connections may be before their hello, and pool_load has
  # up to 256 handshakes in flight: n + 50 refused workers of small rows.
  wpool serve --db "$db" --listen 127.0.0.1:0 --max-connections $((2 * n + 512)) 2>"$db.log" &
  pool=$!
  pids+=("$pool")
  port=$(listening_port "$db.log")
  export W_POOL=ws://127.0.0.1:$port
  # Enough tasks for the whole run and some: the queue never runs dry.
  tasks=$(echo "$n * $rate * ($SECONDS_PER_ROW + $WARMUP + 30) * 1.3 / 1" | bc)
  wgen range 0 "$tasks" --step 1 | wpool submit load --kernel "$B/kernels/noop.so" -q
  t0=$(cpu_ticks "$pool")
  s0=$(date +%s.%N)
  out=$("$B/bench/pool_load" --port "$port" --workers "$n" --rate "$rate" \
    --seconds "$SECONDS_PER_ROW" --warmup "$WARMUP")
  s1=$(date +%s.%N)
  t1=$(cpu_ticks "$pool")
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pool/status")
  kill "$pool"
  wait "$pool" 2>/dev/null || true
  pids=()
  jq -r --arg n "$n" --arg rate "$rate" --arg cpu "$(echo "($t1 - $t0) / $(getconf CLK_TCK) / ($s1 - $s0)" | bc -l)" \
    --arg mib "$(echo "$hwm / 1024" | bc -l)" '
    [$n, $rate, ($n|tonumber) * ($rate|tonumber), .tasks_per_s,
     .tasks_per_s / (($n|tonumber) * ($rate|tonumber)), .topup_p50_ms, .topup_p99_ms,
     .idle_fraction, ($cpu|tonumber), ($mib|tonumber), .load_cpu]
    | map(tostring) | join("\t")' \
    <<<"$out" | while IFS=$'\t' read -r a b c d e f g h i j k; do
    printf '%-8s %6s %10.0f %10.0f %6.3f %10.2f %10.2f %6.3f %8.2f %9.1f %8.2f\n' "$a" "$b" "$c" \
      "$d" "$e" "$f" "$g" "$h" "$i" "$j" "$k"
  done
  [ "$(jq .working <<<"$out")" = "$n" ] ||
    echo "pool_scale.sh: warning: only $(jq .working <<<"$out") of $n workers kept working" >&2
done
# Three pools on one PostgreSQL database: pool_load against each, a third
# of the workers each.
[ -z "$PG_ROWS" ] || start_bench_pg pool_scale.sh
[ -z "${pg_note:-}" ] || echo "pool_scale.sh: $pg_note" >&2
for row in $PG_ROWS; do
  [ "${pg_up:-0}" = 1 ] || break
  n=${row%x*} rate=${row#*x}
  "$PG_BIN/psql" -XAtq "postgresql://wkit@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE load$n"
  db=postgresql://wkit@127.0.0.1:$pg_port/load$n
  ports=() pools=()
  for i in 1 2 3; do
    wpool serve --db "$db" --listen 127.0.0.1:0 --max-connections $((2 * n / 3 + 512)) \
      2>"$work/pg$n-$i.log" &
    pools+=($!)
    pids+=($!)
    ports+=("$(listening_port "$work/pg$n-$i.log")")
  done
  tasks=$(echo "$n * $rate * ($SECONDS_PER_ROW + $WARMUP + 30) * 1.3 / 1" | bc)
  wgen range 0 "$tasks" --step 1 | W_POOL=ws://127.0.0.1:${ports[0]} wpool submit load \
    --kernel "$B/kernels/noop.so" -q
  sleep 1.5 # each pool learns of the campaign within a second
  t0=0
  for p in "${pools[@]}"; do t0=$((t0 + $(cpu_ticks "$p"))); done
  s0=$(date +%s.%N)
  loads=()
  for i in 0 1 2; do
    "$B/bench/pool_load" --port "${ports[$i]}" --workers $((n / 3)) --first $((i * n / 3)) --rate "$rate" \
      --seconds "$SECONDS_PER_ROW" --warmup "$WARMUP" >"$work/load$n-$i.json" &
    loads+=($!)
  done
  failed=0
  for l in "${loads[@]}"; do wait "$l" || failed=1; done
  s1=$(date +%s.%N)
  for i in 0 1 2; do
    kill -0 "${pools[$i]}" 2>/dev/null && [ "$failed" = 0 ] && continue
    echo "pool_scale.sh: error: a load or pool $((i + 1)) on PostgreSQL failed during the row:" >&2
    grep -v "joined\|left" "$work/pg$n-$((i + 1)).log" | tail -5 >&2
    exit 1
  done
  t1=0 hwm=0
  for p in "${pools[@]}"; do
    t1=$((t1 + $(cpu_ticks "$p")))
    hwm=$((hwm + $(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status")))
  done
  stop_pids
  jq -s -r --arg n "$n" --arg rate "$rate" \
    --arg cpu "$(echo "($t1 - $t0) / $(getconf CLK_TCK) / ($s1 - $s0)" | bc -l)" \
    --arg mib "$(echo "$hwm / 1024" | bc -l)" '
    (map(.tasks_per_s) | add) as $got |
    [$n, $rate, ($n|tonumber) * ($rate|tonumber), $got, $got / (($n|tonumber) * ($rate|tonumber)),
     (map(.topup_p50_ms) | add / length), (map(.topup_p99_ms) | max),
     (map(.idle_fraction) | add / length), ($cpu|tonumber), ($mib|tonumber),
     (map(.load_cpu) | add)] | map(tostring) | join("\t")' \
    "$work/load$n-0.json" "$work/load$n-1.json" "$work/load$n-2.json" |
    while IFS=$'\t' read -r a b c d e f g h i j k; do
      printf '%-8s %6s %10.0f %10.0f %6.3f %10.2f %10.2f %6.3f %8.2f %9.1f %8.2f  3 pools, PostgreSQL\n' \
        "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j" "$k"
    done
done
echo "one pool, SQLite (WAL, synchronous), no-op tasks; pool_cpu, load_cpu: cores the pool" \
  "and the load generator used; p50/p99: results sent -> next tasks received;" \
  "$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
