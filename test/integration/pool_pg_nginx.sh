# Three `wpool serve` on one PostgreSQL database behind a real nginx running
# examples/deploy/nginx/wkit.conf with the three in its upstream (least_conn,
# TLS ended at nginx): four workers and the client go through nginx only; a
# 100,000-task campaign, and kill -9 of one pool mid-campaign, not started
# again: its workers reconnect through nginx to the other two, its tasks
# are taken by them once its claims lapse, and every task has exactly one
# result, filter mode's.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/pg_common.sh"
. "$(dirname "$0")/nginx_common.sh"

start_postgres
POOL_DB=$(pg_createdb shared)
serve 1
serve 2
serve 3
nginx_ports
# wsig and wsql are not part of this test: their upstreams point at port 1.
nginx_site "$PORT_1 $PORT_2 $PORT_3" 1 1
start_nginx
export W_POOL=wss://localhost:$NP W_CACERT=$TMP/ca/ca.pem

wgen range 0 10000000 --step 100 >"$TMP/ranges"
n=$(wc -l <"$TMP/ranges")
run wpool submit div --kernel "$W_KERNELS/divisible.so" --static '{"divisor":13}' <"$TMP/ranges"
expect_rc 0
# Paused while the workers come (it runs at tens of thousands of tasks a
# second): each pool learns of the pause within a second.
wpool pause div -q
sleep 1.5
for w in a b c d; do
  wrun "$W_POOL" --name "$w" --cache "$TMP/cache-$w" -j 1 2>>"$TMP/worker-$w.log" &
  PIDS+=($!)
  sleep 0.2  # one at a time: least_conn sees the ones before
done
connected() { on "$1" wpool workers --json | jq '[.[] | select(.connected)] | length'; }
for _ in $(seq 1 200); do
  [ $(($(connected 1) + $(connected 2) + $(connected 3))) = 4 ] && break
  sleep 0.05
done
for i in 1 2 3; do
  [ "$(connected "$i")" -ge 1 ] || fail "nginx gave pool $i no worker ($(connected 1), $(connected 2), $(connected 3))"
done
on_pool2=$(on 2 wpool workers --json | jq -r '[.[] | select(.connected) | .name] | join(" ")')
wpool resume div -q
start=$SECONDS

# kill -9 of pool 2 mid-campaign, while it holds tasks.
kill_pool_mid_campaign 2 "$n"

run timeout 240 wpool wait div
expect_rc 0
echo "pool_pg_nginx: $n tasks in $((SECONDS - start)) s, $done_at_kill done at the kill, $held held by the killed pool" >&2
wrun -k "$W_KERNELS/divisible.so" --static '{"divisor":13}' -q <"$TMP/ranges" |
  jq -c '[.seq, .output]' | sort >"$TMP/want"
wpool results div | jq -c '[.seq, .output]' | sort >"$TMP/got"
[ "$(wc -l <"$TMP/got")" -eq "$n" ] || fail "expected $n results, got $(wc -l <"$TMP/got")"
cmp -s "$TMP/got" "$TMP/want" || fail "results through nginx differ from filter mode"
[ "$(pg_sql shared 'SELECT count(*), count(DISTINCT task) FROM results')" = "$n|$n" ] ||
  fail "result rows (all, distinct tasks): $(pg_sql shared 'SELECT count(*), count(DISTINCT task) FROM results')"
# The killed pool's workers came back through nginx to the others.
for w in $on_pool2; do
  grep -q "unreachable.*attempt" "$TMP/worker-$w.log" || fail "worker $w did not reconnect"
done
for _ in $(seq 1 100); do
  [ "$(($(connected 1) + $(connected 3)))" = 4 ] && break
  sleep 0.1
done
[ "$(($(connected 1) + $(connected 3)))" = 4 ] ||
  fail "$(($(connected 1) + $(connected 3))) workers on the live pools, not 4"
for w in a b c d; do
  id=$(on 1 wpool workers --json | jq -r --arg n "$w" '[.[] | select(.name == $n)][0].id')
  [ "$(pg_sql shared "SELECT count(*) > 0 FROM results WHERE worker='$id'")" = t ] ||
    fail "worker $w returned no stored result"
done
grep -q "GET /worker" "$TMP/nginx/access.log" || fail "the workers did not go through nginx"
