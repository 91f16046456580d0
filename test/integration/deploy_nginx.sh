# examples/deploy/nginx/wkit.conf, run by a real nginx (Debian's) on free
# ports as an unprivileged config, TLS ended there with a test CA made by
# openssl: wpool, wsig and wsql on 127.0.0.1 in clear behind one https
# origin. Through it: the volunteer page in headless Chromium and native
# workers over wss run one campaign together, a coupled campaign relays
# through wsig at /sig/, wsql answers at /sql/ (WebSocket and POST),
# /metrics answers this machine, and http:// is sent to https://.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/nginx_common.sh"
. "$(dirname "$0")/browser/env.sh"
nginx_ports
SPKI=$(openssl x509 -in "$TMP/ca/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)

# The three servers, in clear on 127.0.0.1, as the site's header says.
wsig --host 127.0.0.1 --port 0 2>"$TMP/sig.log" &
PIDS+=($!)
SIG_PORT=$(wait_listening "$TMP/sig.log")
wpool serve --db "$TMP/pool.db" --listen 127.0.0.1:0 --www "$W_BUILD/www" \
  --sig "wss://localhost:$NP/sig/" --heartbeat 1s 2>"$TMP/pool.log" &
PIDS+=($!)
POOL_PORT=$(wait_listening "$TMP/pool.log")
mkdir "$TMP/data"
wsql serve --dir "$TMP/data" --listen 127.0.0.1:0 --key sqlkey 2>"$TMP/sql.log" &
PIDS+=($!)
SQL_PORT=$(wait_listening "$TMP/sql.log")

# The example site with this test's ports, names and certificate.
nginx_site "$POOL_PORT" "$SIG_PORT" "$SQL_PORT"
start_nginx
run curl -s --cacert "$TMP/ca/ca.pem" "$ORIGIN/healthz"
expect_out ok
export W_POOL=wss://localhost:$NP W_CACERT=$TMP/ca/ca.pem

# Plain http goes to https; /metrics answers this machine.
run curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://localhost:$HP/dashboard.html"
expect_out "301 https://localhost/dashboard.html"
run curl -sf --cacert "$TMP/ca/ca.pem" "$ORIGIN/metrics"
expect_out "wpool_tasks"

# One campaign, div, on the volunteer page's two Web Workers and two native
# workers, all through nginx. Together they race: a lone worker leases a
# whole queue and natives outrun wasm, so either side could end up with no
# task. So the page runs the first half alone (and leaves when it is done),
# then the natives join and the second half is added. The first half is
# submitted once both Web Workers have joined: it takes the page about a
# second, and submitted before, it could be done (and the page gone) before
# the second Web Worker joined, or between two looks at the pool.
wgen range 0 200000 --step 100 >"$TMP/ranges-1"
wgen range 200000 400000 --step 100 >"$TMP/ranges-2"
cat "$TMP/ranges-1" "$TMP/ranges-2" >"$TMP/ranges"
timeout 150 node "$W_SRC/test/integration/browser/join.js" "$ORIGIN/" "$SPKI" div 2 140 \
  >"$TMP/join.out" 2>"$TMP/join.err" &
joiner=$!
PIDS+=($joiner)
count_workers() { # JQ-FILTER: how many connected workers match it
  wpool workers --json | jq "[.[] | select(.connected and ($1))] | length"
}
deadline=$((SECONDS + 110))
until [ "$(count_workers '.platform == "wasm32"')" = 2 ]; do
  kill -0 "$joiner" 2>/dev/null || fail "join.js ended before the page joined: $(cat "$TMP/join.err")"
  [ "$SECONDS" -lt "$deadline" ] || fail "the page's Web Workers did not join within 110 s: $(wpool workers --json)"
  sleep 0.2
done
wpool submit div --kernel "$W_KERNELS/divisible.so" --static '{"divisor":13}' <"$TMP/ranges-1" -q
wait "$joiner" || fail "join.js: $(cat "$TMP/join.err")"
jq -e --arg p "$W_POOL" '.pool == $p' "$TMP/join.out" >/dev/null || fail "the page's pool: $(cat "$TMP/join.out")"
wrun "$W_POOL" --name n1 -j 2 --cache "$TMP/cache-n1" 2>"$TMP/worker-n1.log" &
PIDS+=($!)
wrun "$W_POOL" --name n2 -j 2 --cache "$TMP/cache-n2" 2>"$TMP/worker-n2.log" &
PIDS+=($!)
wpool submit div <"$TMP/ranges-2" -q
run wpool wait div --timeout 60s
expect_rc 0
wpool results div >"$TMP/results"
[ "$(wc -l <"$TMP/results")" = 4000 ] || fail "$(wc -l <"$TMP/results") results of 4000"
jq -s -e 'map(select(.error)) == []' "$TMP/results" >/dev/null || fail "errors: $(grep error "$TMP/results" | head -3)"
for p in wasm32 linux-x86_64; do
  grep -q "\"platform\":\"$p\"" "$TMP/results" || fail "no result from $p"
done
jq -c '[.seq, .output]' "$TMP/results" | sort >"$TMP/got"
wrun -k "$W_KERNELS/divisible.so" --static '{"divisor":13}' <"$TMP/ranges" | jq -c '[.seq, .output]' |
  sort >"$TMP/want"
cmp -s "$TMP/got" "$TMP/want" || fail "results differ from the filter-mode run"

# A coupled campaign: 4 members on the two 2-slot workers, two pairs
# talking through wsig's relay at wss://localhost:NP/sig/.
echo '{"x":1}' | wpool submit ring --kernel "$W_KERNELS/ring.so" --group 4 -q
run timeout 60 wpool wait ring --timeout 50s
expect_rc 0
wpool results ring | jq -e '.output | length == 4' >/dev/null || fail "ring: $(wpool results ring)"
grep -q "GET /sig/peerjs?" "$TMP/nginx/access.log" || fail "the relay did not go through nginx"
run curl -sf --cacert "$TMP/ca/ca.pem" "$ORIGIN/sig/peerjs/id"
[ -s "$TMP/out" ] || fail "wsig's /peerjs/id through nginx said nothing"

# wsql at /sql/: created over POST, written over the WebSocket, read over
# both.
curl -sf --cacert "$TMP/ca/ca.pem" -X POST "$ORIGIN/sql/rpc?cap=sqlkey" \
  --data-binary '{"op":"create_db","db":"runs"}' >/dev/null || fail "create_db through nginx"
wsql "$ORIGIN/sql/?db=runs&cap=sqlkey" 'CREATE TABLE m (x)' -q
wpool results div | jq -c '{x: .seq}' | wsql insert "wss://localhost:$NP/sql/?db=runs&cap=sqlkey" m -q
run wsql "wss://localhost:$NP/sql/?db=runs&cap=sqlkey" 'SELECT count(*) AS n FROM m'
expect_out '{"n":4000}'
run wsql "$ORIGIN/sql/?db=runs&table=m&cap=sqlkey" 'SELECT max(x) AS x FROM m'
expect_out '{"x":3999}'
# Every WebSocket came through as one: the upgrades in nginx's log.
grep -q '"GET /worker HTTP/1.1" 101' "$TMP/nginx/access.log" || fail "no upgraded /worker in nginx's log"
grep -q '"GET /sql/runs' "$TMP/nginx/access.log" || fail "no wsql WebSocket in nginx's log"
echo ok
