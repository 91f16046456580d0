# TLS end to end, with a test CA made here by openssl: wpool serve and wsig
# on https/wss, native workers over wss verifying against --cacert (and
# W_CACERT), a campaign and a coupled one relayed through wsig over wss;
# a wrong or missing CA ends a client at once with exit 76 "certificate
# verify failed"; ws:// to the TLS port is refused (69); a renewed
# certificate is taken on SIGHUP while the workers stay connected.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/tls_common.sh"
make_ca "$TMP/ca"
make_ca "$TMP/other"
issue_cert "$TMP/ca" server "DNS:localhost,IP:127.0.0.1"
cp "$TMP/ca/server.pem" "$TMP/live.pem"
cp "$TMP/ca/server.key" "$TMP/live.key"

wsig -p 0 -H 127.0.0.1 --sslkey "$TMP/live.key" --sslcert "$TMP/live.pem" 2>"$TMP/sig.log" &
PIDS+=($!)
SIG_PORT=$(wait_listening "$TMP/sig.log")
wpool serve --db "$TMP/pool.db" --listen 127.0.0.1:0 --sslkey "$TMP/live.key" \
  --sslcert "$TMP/live.pem" --sig "wss://localhost:$SIG_PORT/" 2>"$TMP/pool.log" &
POOL_PID=$!
PIDS+=("$POOL_PID")
PORT=$(wait_listening "$TMP/pool.log")
POOL=wss://localhost:$PORT
export W_POOL=$POOL
grep -q "https and wss only" "$TMP/pool.log" || fail "the pool does not say it serves TLS"

# Workers: one with --cacert, one with W_CACERT.
wrun "$POOL" --name a -j 2 --cache "$TMP/cache-a" --cacert "$TMP/ca/ca.pem" 2>"$TMP/worker-a.log" &
PIDS+=($!)
W_CACERT=$TMP/ca/ca.pem wrun "$POOL" --name b -j 2 --cache "$TMP/cache-b" 2>"$TMP/worker-b.log" &
PIDS+=($!)
export W_CACERT=$TMP/ca/ca.pem
wait_workers 2

# An independent campaign over wss, equal to the filter-mode run.
wgen range 0 20000 --step 200 >"$TMP/ranges"
wpool submit div --kernel "$W_KERNELS/divisible.so" --static '{"divisor":7}' <"$TMP/ranges" -q
run timeout 60 wpool wait div --timeout 50s
expect_rc 0
wpool results div | jq -c '[.seq, .output]' | sort >"$TMP/got"
wrun -k "$W_KERNELS/divisible.so" --static '{"divisor":7}' <"$TMP/ranges" | jq -c '[.seq, .output]' |
  sort >"$TMP/want"
[ "$(wc -l <"$TMP/got")" = 100 ] || fail "$(wc -l <"$TMP/got") results of 100"
cmp -s "$TMP/got" "$TMP/want" || fail "pool results differ from the filter-mode run"

# A coupled campaign: 4 members on two 2-slot workers, so pairs meet across
# workers through wsig's relay over wss, then link directly over TLS.
echo '{"x":1}' | wpool submit ring --kernel "$W_KERNELS/ring.so" --group 4 -q
run timeout 60 wpool wait ring --timeout 50s
expect_rc 0
wpool results ring | jq -e '.output | length == 4' >/dev/null ||
  fail "ring over wss: $(wpool results ring)"
grep -q "direct link up (TLS)" "$TMP/worker-a.log" "$TMP/worker-b.log" ||
  fail "the members' direct links did not run TLS: $(cat "$TMP/worker-a.log" "$TMP/worker-b.log")"
grep -q "direct link up$" "$TMP/worker-a.log" "$TMP/worker-b.log" && fail "a link without TLS"
! grep -i "error" "$TMP/worker-a.log" "$TMP/worker-b.log" || fail "the workers logged errors"

# A CA that did not sign the certificate, or none (the system's): exit 76
# at once, saying why, with no retry loop.
for how in "--cacert $TMP/other/ca.pem" ""; do
  start=$(date +%s%N)
  W_CACERT= run timeout 20 wrun "$POOL" --name c --cache "$TMP/cache-c" $how
  ms=$((($(date +%s%N) - start) / 1000000))
  expect_rc 76
  expect_err "certificate verify failed"
  [ "$ms" -lt 5000 ] || fail "wrun took $ms ms to give up on a bad certificate"
  grep -q "attempt" "$TMP/err" && fail "a certificate failure was retried: $(cat "$TMP/err")"
done
W_CACERT=$TMP/other/ca.pem run timeout 20 wpool status
expect_rc 76
expect_err "wpool: error: connect wss://localhost:$PORT/client: certificate verify failed"
# ws:// to the TLS port: refused in clear, permanently.
run timeout 20 wpool status --pool "ws://localhost:$PORT"
expect_rc 69
expect_err "use wss://"
# --insecure connects, and says what it gives up.
W_CACERT= run timeout 20 wpool status --insecure
expect_rc 0
expect_err "warning: --insecure: server certificates are not checked"

# Renewal: a certificate of another CA replaces the live files; SIGHUP.
# New clients trusting only the new CA get in; the workers stay connected
# (each connected once).
issue_cert "$TMP/other" server "DNS:localhost,IP:127.0.0.1"
cp "$TMP/other/server.pem" "$TMP/live.pem"
cp "$TMP/other/server.key" "$TMP/live.key"
kill -HUP "$POOL_PID"
for i in $(seq 1 100); do
  grep -q "new TLS certificate" "$TMP/pool.log" && break
  sleep 0.05
done
grep -q "new TLS certificate from '$TMP/live.pem'" "$TMP/pool.log" ||
  fail "no reload in the pool's log: $(tail -5 "$TMP/pool.log")"
W_CACERT=$TMP/other/ca.pem run timeout 20 wpool workers --json
expect_rc 0
[ "$(jq '[.[] | select(.connected)] | length' "$TMP/out")" = 2 ] ||
  fail "workers after the reload: $(cat "$TMP/out")"
W_CACERT=$TMP/ca/ca.pem run timeout 20 wpool status
expect_rc 76
for w in a b; do
  [ "$(grep -c 'connected to' "$TMP/worker-$w.log")" = 1 ] ||
    fail "worker $w reconnected: $(cat "$TMP/worker-$w.log")"
done
curl -s --cacert "$TMP/other/ca.pem" "https://localhost:$PORT/metrics" >"$TMP/metrics"
grep -q '^wpool_tls_reloads_total 1$' "$TMP/metrics" || fail "/metrics does not count the reload"
echo "ok"
