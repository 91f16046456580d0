#!/usr/bin/env bash
# wsql over TLS, with a test CA made here by openssl: `wsql serve --sslkey
# --sslcert`, the client over wss:// (WebSocket) and https:// (POST /rpc)
# verifying against --cacert or W_CACERT; the database named in the query
# (the form for a proxy path, ?db=); http:// and ws:// to the TLS port are
# refused (69); a wrong CA ends at once with 76.
source "$(dirname "$0")/wsql_common.sh"
source "$(dirname "$0")/tls_common.sh"
make_ca "$TMP/ca"
make_ca "$TMP/other"
issue_cert "$TMP/ca" server "DNS:localhost,IP:127.0.0.1"
start_server --sslkey "$TMP/ca/server.key" --sslcert "$TMP/ca/server.pem"
grep -q "https and wss only" "$TMP/server.log" || fail "no TLS in the log: $(cat "$TMP/server.log")"
ALL=$(mint all)
WSS="wss://localhost:$PORT"
HTTPS="https://localhost:$PORT"
curl -s --cacert "$TMP/ca/ca.pem" -X POST "$HTTPS/rpc?cap=$ALL" --data-binary '{"op":"create_db","db":"runs"}' |
  jq -e '.error == null' >/dev/null || fail "create_db over https"

run wsql --cacert "$TMP/ca/ca.pem" "$WSS/runs?cap=$ALL" 'CREATE TABLE m (id INTEGER PRIMARY KEY, x)'
expect_rc 0
seq 1 50 | jq -c '{x: .}' | W_CACERT=$TMP/ca/ca.pem run wsql insert "$WSS/runs?cap=$ALL" m
expect_rc 0
export W_CACERT=$TMP/ca/ca.pem
run wsql "$HTTPS/runs?cap=$ALL" 'SELECT count(*) AS n, sum(x) AS s FROM m'
expect_rc 0
expect_out '{"n":50,"s":1275}'
run wsql "$WSS/?db=runs&cap=$ALL" 'SELECT count(*) AS n FROM m'
expect_out '{"n":50}'
run wsql "$HTTPS/?db=runs&table=m&cap=$ALL" 'SELECT max(x) AS x FROM m'
expect_out '{"x":50}'
run wsql tables "$WSS/?db=runs&cap=$ALL"
expect_out "m"

# In clear to the TLS port: refused, permanently, saying why.
run timeout 20 wsql "ws://localhost:$PORT/runs?cap=$ALL" 'SELECT 1'
expect_rc 69
expect_err "use wss://"
run timeout 20 wsql "http://localhost:$PORT/runs?cap=$ALL" 'SELECT 1'
expect_rc 69
expect_err "redirected (HTTP 301)"
# A CA that did not sign it: 76 at once, for both transports; the
# capability never shows in the message.
for url in "$WSS/runs?cap=$ALL" "$HTTPS/runs?cap=$ALL"; do
  start=$(date +%s%N)
  W_CACERT=$TMP/other/ca.pem run timeout 20 wsql "$url" 'SELECT 1'
  ms=$((($(date +%s%N) - start) / 1000000))
  expect_rc 76
  expect_err "certificate verify failed"
  [ "$ms" -lt 5000 ] || fail "$url: $ms ms to give up"
  grep -qF -- "$ALL" "$TMP/err" && fail "the capability is in the message: $(cat "$TMP/err")"
done
# Nothing listening: retried within --timeout, then 75.
stop_server
run timeout 30 wsql --timeout 2s "$WSS/runs?cap=$ALL" 'SELECT 1'
expect_rc 75
expect_err "unreachable for 2 s"
echo ok
