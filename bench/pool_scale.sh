#!/usr/bin/env bash
# Many active workers on one wpool (issue 17): bench/pool_load's simulated
# one-slot workers, each taking RATE tasks/s of a no-op campaign and
# returning every result, against one pool on a SQLite file (durable, as
# always). For each row: the tasks/s offered (workers x rate) and achieved,
# their ratio, how fast the pool refills a worker (results sent -> next
# tasks received, p50 and p99), the slots' idle time, the pool's CPU and
# its peak resident memory.
# Usage: bench/pool_scale.sh [BUILD_DIR]
#   ROWS="10000x1 1000x10" (workers x tasks/s each), SECONDS_PER_ROW=20,
#   WARMUP=5 set the sizes.
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
ROWS=${ROWS:-"1000x10 10000x1"}
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
echo "one pool, SQLite (WAL, synchronous), no-op tasks; pool_cpu, load_cpu: cores the pool" \
  "and the load generator used; p50/p99: results sent -> next tasks received;" \
  "$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
