# /metrics: Prometheus' standard process_* metrics with plausible values,
# every family declared once and no two families sharing a name (a
# counter's family is its name without _total: wpool_group_runs_total and
# a gauge wpool_group_runs were one family twice), every sample in a
# declared family; a native worker's heartbeats carry its host's load and
# its memory to /api/status.
. "$(dirname "$0")/pool_common.sh"
POOL_ARGS="--heartbeat 1s"
start_pool
start_worker a -j 1
wait_workers 1
curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/m"

value() { awk -v n="$1" '$1 == n { print $2 }' "$TMP/m"; }
for m in process_cpu_seconds_total process_resident_memory_bytes process_open_fds \
  process_start_time_seconds process_max_fds process_virtual_memory_bytes; do
  [ -n "$(value "$m")" ] || fail "/metrics lacks $m"
done
rss=$(value process_resident_memory_bytes)
[ "$rss" -gt 1000000 ] || fail "process_resident_memory_bytes $rss"
# The pool's own descriptors: its SQLite file and listening socket at least.
fds=$(value process_open_fds)
[ "$fds" -ge 4 ] && [ "$fds" -le $(($(ls /proc/"$POOL_PID"/fd | wc -l) + 8)) ] ||
  fail "process_open_fds $fds, /proc says $(ls /proc/"$POOL_PID"/fd | wc -l)"
start=$(value process_start_time_seconds)
now=$(date +%s)
awk -v s="$start" -v n="$now" 'BEGIN { exit !(s > n - 120 && s <= n + 1) }' ||
  fail "process_start_time_seconds $start, now $now"
awk -v c="$(value process_cpu_seconds_total)" 'BEGIN { exit !(c >= 0 && c < 120) }' ||
  fail "process_cpu_seconds_total $(value process_cpu_seconds_total)"

# Families: declared once each, unique after dropping a counter's _total.
awk '$1 == "#" && $2 == "TYPE" { f = $3; if ($4 == "counter") sub(/_total$/, "", f); print f }' \
  "$TMP/m" | sort | uniq -d >"$TMP/dup"
[ ! -s "$TMP/dup" ] || fail "metric families declared twice: $(cat "$TMP/dup")"
awk '$1 == "#" && $2 == "TYPE" { t[$3] = 1; next }
     $1 !~ /^#/ { n = $1; sub(/\{.*/, "", n); if (!(n in t)) { print n; bad = 1 } }
     END { exit bad }' "$TMP/m" >"$TMP/undeclared" ||
  fail "samples outside a declared family: $(sort -u "$TMP/undeclared")"
grep -q '^wpool_group_runs_running 0$' "$TMP/m" || fail "no wpool_group_runs_running"

# The worker's heartbeat (every second here) tells its load and memory.
for i in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/api/status" >"$TMP/s"
  jq -e '.workers[0].rss != null' "$TMP/s" >/dev/null && break
  sleep 0.1
done
jq -e '.workers[0] | (.load >= 0) and (.load < 1000) and (.rss > 1000000)' "$TMP/s" >/dev/null ||
  fail "worker load and rss: $(jq -c '.workers' "$TMP/s")"
echo ok
