# The pool on PostgreSQL (wpool serve --db postgresql://...), on a real
# PostgreSQL 15 cluster this test starts: a divisible campaign on two
# workers gives the filter-mode answer; kill -9 of the pool mid-campaign
# and a restart on the same database lose nothing acknowledged and store
# every result exactly once; two pools starting on a fresh database at once
# migrate it once and both serve it; no message shows the URL's password.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/pg_common.sh"

# Nothing listens on port 1: the error names what failed, without the password.
run timeout 30 wpool serve --db "postgresql://wkit:sekrit@127.0.0.1:1/pool" --listen 127.0.0.1:0
[ "$rc" -ne 0 ] || fail "wpool serve on an unreachable database exited 0"
expect_err "store: connect in 'postgresql://wkit:***@127.0.0.1:1/pool'"
grep -q sekrit "$TMP/err" && fail "the password is in the message: $(cat "$TMP/err")"

start_postgres
run timeout 30 wpool serve --db "host=127.0.0.1 port=$PG_PORT user=wkit password='se krit' dbname=nosuch" \
  --listen 127.0.0.1:0
[ "$rc" -ne 0 ] || fail "wpool serve on a missing database exited 0"
expect_err 'database "nosuch" does not exist'
expect_err "password=***"
grep -q krit "$TMP/err" && fail "the password is in the message: $(cat "$TMP/err")"

# Two pools on a fresh database at once: the schema is migrated once, and
# both serve it, each as a pool of its own (pool_pg_shared.sh runs a
# campaign on three).
race=$(pg_createdb race)
wpool serve --db "$race" --listen 127.0.0.1:0 2>"$TMP/race1.log" &
r1=$!
PIDS+=($r1)
wpool serve --db "$race" --listen 127.0.0.1:0 2>"$TMP/race2.log" &
r2=$!
PIDS+=($r2)
for _ in $(seq 1 200); do
  grep -q 'listening on' "$TMP/race1.log" && grep -q 'listening on' "$TMP/race2.log" && break
  sleep 0.05
done
for r in 1 2; do
  grep -q 'listening on.*of those sharing it' "$TMP/race$r.log" ||
    fail "pool $r does not serve the database: $(cat "$TMP/race$r.log")"
done
[ "$(pg_sql race 'SELECT count(*), max(version) FROM wpool_schema')" = "1|4" ] ||
  fail "schema version rows: $(pg_sql race 'SELECT * FROM wpool_schema')"
[ "$(pg_sql race 'SELECT count(*), count(DISTINCT id) FROM pools')" = "2|2" ] ||
  fail "pools: $(pg_sql race 'SELECT * FROM pools')"
kill "$r1" "$r2"
wait "$r1" "$r2" 2>/dev/null || true
[ "$(pg_sql race 'SELECT count(*) FROM pools')" = 0 ] ||
  fail "pools stopped cleanly left rows: $(pg_sql race 'SELECT * FROM pools')"

# A campaign run through: the answer of filter mode.
POOL_DB=$(pg_createdb pool)
# A password in the URL (trust auth does not ask for it) is never logged,
# not even in the "listening on ... (store ...)" line.
POOL_DB=${POOL_DB/wkit@/wkit:sekrit2@}
start_pool
grep -q sekrit2 "$TMP/pool.log" && fail "the password is in the pool's log: $(grep sekrit2 "$TMP/pool.log")"
start_worker a -j 2
worker_a=$WORKER_PID
start_worker b -j 1
worker_b=$WORKER_PID
wait_workers 2
wgen range 0 300000 --step 100 >"$TMP/ranges"
n=$(wc -l <"$TMP/ranges")
run wpool submit div --kernel "$W_KERNELS/divisible.so" --static '{"divisor":13}' <"$TMP/ranges"
expect_rc 0
start=$SECONDS
run timeout 120 wpool wait div
expect_rc 0
echo "pool_postgres: $n tasks in $((SECONDS - start)) s" >&2
wrun -k "$W_KERNELS/divisible.so" --static '{"divisor":13}' -q <"$TMP/ranges" |
  jq -c '[.seq, .output]' | sort >"$TMP/want"
wpool results div | jq -c '[.seq, .output]' | sort >"$TMP/got"
[ "$(wc -l <"$TMP/got")" -eq "$n" ] || fail "expected $n results, got $(wc -l <"$TMP/got")"
cmp -s "$TMP/got" "$TMP/want" || fail "pool and filter-mode results differ"

# Another, with kill -9 of the pool mid-campaign and a restart on the same
# database and port: the results acknowledged before the kill are there
# after it, unchanged, and every task has one result. The workers (faster
# than a client reads results) run it until 100 are done; then it is paused while the
# acknowledged results are read, resumed, and the pool killed at once.
kill "$worker_a" "$worker_b"
wait "$worker_a" "$worker_b" 2>/dev/null || true
wgen range 0 5000000 --step 100 >"$TMP/ranges2"
n2=$(wc -l <"$TMP/ranges2")
run wpool submit div2 --kernel "$W_KERNELS/divisible.so" --static '{"divisor":13}' <"$TMP/ranges2"
expect_rc 0
wpool pause div2 -q
start_worker a -j 2
start_worker b -j 1
wait_workers 2
wpool resume div2 -q
for _ in $(seq 1 100); do
  [ "$(wpool status div2 --json | jq '.campaigns[0].done')" -ge 100 ] && break
  sleep 0.05
done
wpool pause div2 -q
wpool results div2 | jq -c '[.seq, .output]' | sort >"$TMP/before"
[ "$(wc -l <"$TMP/before")" -ge 100 ] || fail "only $(wc -l <"$TMP/before") results before the kill"
[ "$(wc -l <"$TMP/before")" -lt "$n2" ] || fail "the campaign ended before the kill: make it longer"
wpool resume div2 -q
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
POOL_STARTS=2 start_pool "$PORT"
run timeout 120 wpool wait div2
expect_rc 0
wpool results div2 | jq -c '[.seq, .output]' | sort >"$TMP/got2"
wrun -k "$W_KERNELS/divisible.so" --static '{"divisor":13}' -q <"$TMP/ranges2" |
  jq -c '[.seq, .output]' | sort >"$TMP/want2"
cmp -s "$TMP/got2" "$TMP/want2" || fail "after the restart, results differ from filter mode"
comm -23 "$TMP/before" "$TMP/got2" | grep -q . && fail "acknowledged results were lost"
grep -q "unreachable.*attempt" "$TMP/worker-a.log" || fail "worker a did not reconnect"

# In the database itself: each task has one result row, each task is done.
[ "$(pg_sql pool 'SELECT count(*), count(DISTINCT task) FROM results')" = "$((n + n2))|$((n + n2))" ] ||
  fail "result rows (all, distinct tasks): $(pg_sql pool 'SELECT count(*), count(DISTINCT task) FROM results')"
[ "$(pg_sql pool 'SELECT count(*) FROM tasks WHERE state<>2')" = 0 ] || fail "tasks not done"
# The counts each pool keeps (campaign_counts) agree with the task rows.
[ "$(pg_sql pool 'SELECT sum(total), sum(done), sum(failed) FROM campaign_counts')" = \
  "$((n + n2))|$((n + n2))|0" ] ||
  fail "campaign_counts: $(pg_sql pool 'SELECT * FROM campaign_counts')"

# A database of schema step 3 (no campaign_counts): the pool migrates it,
# counting what its tasks table holds, and shows the same status as before.
before=$(wpool status div2 --json | jq -c '.campaigns[0] | [.total, .done, .failed]')
kill "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
pg_sql pool 'DROP TABLE campaign_counts; UPDATE wpool_schema SET version=3' >/dev/null
POOL_STARTS=3 start_pool "$PORT"
[ "$(pg_sql pool 'SELECT max(version) FROM wpool_schema')" = 4 ] || fail "not migrated to step 4"
after=$(wpool status div2 --json | jq -c '.campaigns[0] | [.total, .done, .failed]')
[ "$after" = "[$n2,$n2,0]" ] && [ "$after" = "$before" ] ||
  fail "status after the migration: $after (before: $before, want [$n2,$n2,0])"
