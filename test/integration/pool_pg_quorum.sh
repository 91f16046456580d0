# Quorum across pools: two `wpool serve` on one PostgreSQL database, one
# worker on each, a campaign whose tasks need two agreeing replicas. No
# pool can finish a task with its own worker: each task's second replica
# must come from the other pool's worker, through the votes in the store.
# Every task is done (none fails for want of a quorum), once, with filter
# mode's result, and no vote is left behind.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/pg_common.sh"

start_postgres
POOL_DB=$(pg_createdb shared)

serve 1
serve 2
worker a 1
worker b 2
for _ in $(seq 1 200); do
  [ "$(on 1 wpool workers --json | jq '[.[] | select(.connected)] | length')" = 1 ] &&
    [ "$(on 2 wpool workers --json | jq '[.[] | select(.connected)] | length')" = 1 ] && break
  sleep 0.05
done

wgen range 0 4000 --step 100 >"$TMP/ranges"
n=$(wc -l <"$TMP/ranges")
# A short timeout: were a task judged starved on one pool, it would fail
# within the test rather than after a minute.
run on 1 wpool submit rep --kernel "$W_KERNELS/divisible.so" --static '{"divisor":13}' \
  --replicas 2 --quorum 2 --timeout 3s <"$TMP/ranges"
expect_rc 0
run on 2 timeout 120 wpool wait rep
expect_rc 0
# Pool 1 learns the others' counts within a second.
run on 1 timeout 30 wpool wait rep
expect_rc 0

status=$(on 1 wpool status rep --json | jq -c '.campaigns[0] | [.total, .done, .failed]')
[ "$status" = "[$n,$n,0]" ] || fail "status [total, done, failed]: $status, want [$n,$n,0]"
wrun -k "$W_KERNELS/divisible.so" --static '{"divisor":13}' -q <"$TMP/ranges" |
  jq -c '[.seq, .output]' | sort >"$TMP/want"
on 2 wpool results rep | jq -c '[.seq, .output]' | sort >"$TMP/got"
cmp -s "$TMP/got" "$TMP/want" || fail "results differ from filter mode: $(diff "$TMP/got" "$TMP/want" | head -5)"
[ "$(pg_sql shared 'SELECT count(*), count(DISTINCT task) FROM results')" = "$n|$n" ] ||
  fail "result rows (all, distinct tasks): $(pg_sql shared 'SELECT count(*), count(DISTINCT task) FROM results')"
[ "$(pg_sql shared 'SELECT count(*) FROM votes')" = 0 ] || fail "votes left behind"
echo "pool_pg_quorum: $n tasks, 2 replicas each, one worker on each of 2 pools" >&2
