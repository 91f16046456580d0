# Three `wpool serve` on one PostgreSQL database are one pool: a 100,000-task
# divisible campaign submitted through one of them runs on four workers
# spread over all three; one pool is killed with kill -9 mid-campaign and
# started again, and a worker is killed and started again; at the end every
# task has exactly one result, the results are filter mode's, and each pool
# answers status and results alike. Workers of the killed pool come back to
# it; the tasks it had claimed go to the others once its claims lapse.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/pg_common.sh"

start_postgres
POOL_DB=$(pg_createdb shared)

serve 1
serve 2
serve 3
# Each start joined the database as a pool of its own.
for i in 1 2 3; do
  grep -q "pool [0-9]* of those sharing it" "$TMP/pool$i.log" ||
    fail "pool $i does not say it shares the database: $(cat "$TMP/pool$i.log")"
done
[ "$(pg_sql shared 'SELECT count(*) FROM pools')" = 3 ] ||
  fail "pools rows: $(pg_sql shared 'SELECT * FROM pools')"

wgen range 0 10000000 --step 100 >"$TMP/ranges"
n=$(wc -l <"$TMP/ranges")
[ "$n" -eq 100000 ] || fail "expected 100000 ranges, got $n"
run on 2 wpool submit div --kernel "$W_KERNELS/divisible.so" --static '{"divisor":13}' <"$TMP/ranges"
expect_rc 0
# The workers come once the campaign is in: it runs at tens of thousands of
# tasks a second, faster than a submit stores them.
start=$SECONDS
worker a 1
worker b 1
worker_b=$WORKER_PID
worker c 2
worker d 3
for _ in $(seq 1 200); do
  [ "$(on 1 wpool workers --json | jq '[.[] | select(.connected)] | length')" = 2 ] &&
    [ "$(on 2 wpool workers --json | jq '[.[] | select(.connected)] | length')" = 1 ] &&
    [ "$(on 3 wpool workers --json | jq '[.[] | select(.connected)] | length')" = 1 ] && break
  sleep 0.05
done


# Mid-campaign: kill -9 of pool 3 and a worker of pool 1, both started again.
kill_pool_mid_campaign 3 "$n"
kill -9 "$worker_b"
wait "$worker_b" 2>/dev/null || true
sleep 1
serve 3 "$PORT_3"
worker b 1

run timeout 240 env W_POOL="ws://127.0.0.1:$PORT_1" wpool wait div
expect_rc 0
echo "pool_pg_shared: $n tasks in $((SECONDS - start)) s, $done_at_kill done at the kill, $held held by the killed pool" >&2

# Every task once, as filter mode computes it; every pool says the same.
wrun -k "$W_KERNELS/divisible.so" --static '{"divisor":13}' -q <"$TMP/ranges" |
  jq -c '[.seq, .output]' | sort >"$TMP/want"
for i in 1 2 3; do
  on "$i" wpool results div | jq -c '[.seq, .output]' | sort >"$TMP/got$i"
  [ "$(wc -l <"$TMP/got$i")" -eq "$n" ] ||
    fail "pool $i: expected $n results, got $(wc -l <"$TMP/got$i")"
  cmp -s "$TMP/got$i" "$TMP/want" || fail "pool $i: results differ from filter mode"
done
for _ in $(seq 1 100); do  # each pool reads the others' counts within a second
  same=1
  for i in 1 2 3; do
    [ "$(on "$i" wpool status div --json | jq -c '.campaigns[0] | [.total, .done, .failed]')" = "[$n,$n,0]" ] ||
      same=0
  done
  [ $same = 1 ] && break
  sleep 0.1
done
for i in 1 2 3; do
  got=$(on "$i" wpool status div --json | jq -c '.campaigns[0] | [.total, .done, .failed]')
  [ "$got" = "[$n,$n,0]" ] || fail "pool $i's status: $got, not [$n,$n,0]"
done
[ "$(pg_sql shared 'SELECT count(*), count(DISTINCT task) FROM results')" = "$n|$n" ] ||
  fail "result rows (all, distinct tasks): $(pg_sql shared 'SELECT count(*), count(DISTINCT task) FROM results')"
[ "$(pg_sql shared 'SELECT count(*) FROM tasks WHERE state<>2')" = 0 ] || fail "tasks not done"
# All four workers took part, the one of the killed pool too.
for w in a b c d; do
  id=$(on 1 wpool workers --json | jq -r --arg n "$w" '[.[] | select(.name == $n)][0].id')
  [ "$(pg_sql shared "SELECT count(*) > 0 FROM results WHERE worker='$id'")" = t ] ||
    fail "worker $w returned no stored result"
done
grep -q "unreachable.*attempt" "$TMP/worker-d.log" || fail "worker d did not reconnect"
# A pool that hangs (SIGSTOP: its database session stays, its keepalive
# stops) loses its claims after 10 s; the others take its tasks, and when it
# comes back, its workers' results of them are discarded, and counted.
n2=400  # of 50 ms each: some 5 s on the four workers
datasets "$n2" | on 2 wpool submit div2 --kernel "$W_KERNELS/sleep50.so" -q
stopped=$(pg_sql shared "SELECT id FROM pools WHERE host LIKE '% pid $PPID_1'")
for _ in $(seq 1 500); do
  [ "$(pg_sql shared "SELECT count(*) FROM tasks WHERE pool=$stopped AND state=0")" -gt 0 ] && break
  sleep 0.02
done
kill -STOP "$PPID_1"
held=$(pg_sql shared "SELECT count(*) FROM tasks WHERE pool=$stopped AND state=0")
run timeout 60 env W_POOL="ws://127.0.0.1:$PORT_2" wpool wait div2 --timeout 50s
kill -CONT "$PPID_1"
expect_rc 0
[ "$held" -gt 0 ] || fail "the stopped pool held no task of div2"
[ "$(pg_sql shared "SELECT count(*), count(DISTINCT task) FROM results r JOIN campaigns c
  ON c.id = r.campaign WHERE c.name = 'div2'")" = "$n2|$n2" ] || fail "div2: results not once each"
# If its transaction was open when it stopped, the database ended its
# session past the lapse (the locks of what it claimed went with it): it
# stops at its next commit, as on any failed commit, saying why. Else it
# goes on, and counts its workers' results of tasks the others did.
for _ in $(seq 1 100); do
  kill -0 "$PPID_1" 2>/dev/null || break
  discarded=$(curl -s "http://127.0.0.1:$PORT_1/metrics" |
    awk '$1 == "wpool_results_discarded_total" { print $2 }' || true)
  [ "${discarded:-0}" -gt 0 ] && break
  sleep 0.1
done
if kill -0 "$PPID_1" 2>/dev/null; then
  [ "${discarded:-0}" -gt 0 ] || fail "pool 1 counted no discarded result after it came back"
  echo "pool_pg_shared: $held tasks held by the stopped pool, $discarded of its results discarded" >&2
else
  rc=0
  wait "$PPID_1" || rc=$?
  [ "$rc" -ne 0 ] || fail "pool 1 stopped on a failed commit and exited 0"
  grep -q "error: store: commit in" "$TMP/pool1.log" ||
    fail "pool 1 stopped without saying why: $(tail -5 "$TMP/pool1.log")"
  echo "pool_pg_shared: $held tasks held by the stopped pool; its session was ended" >&2
  serve 1
fi

# A pool that stops cleanly hands its claims back and leaves the pools.
kill "$PPID_1"
wait "$PPID_1" 2>/dev/null || true
[ "$(pg_sql shared "SELECT count(*) FROM pools WHERE host LIKE '% pid $PPID_1'")" = 0 ] ||
  fail "pool 1 left its row behind: $(pg_sql shared 'SELECT * FROM pools')"
