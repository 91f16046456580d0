# --listen takes [IPV6]:PORT, *:PORT and host names as well as IPv4
# literals (it took IPv4 literals only). The IPv6 part needs a loopback
# ::1: without one the test says so and is skipped (exit 77, ctest SKIP).
. "$(dirname "$0")/pool_common.sh"

# serve_on PROG ADDR: starts PROG serve --listen ADDR; sets PORT from its
# "listening on" line (printed as [::1]:PORT for IPv6).
serve_on() {
  local prog=$1 addr=$2 log=$TMP/$1-$RANDOM.log
  if [ "$prog" = wpool ]; then
    wpool serve --db "$TMP/pool-$RANDOM.db" --listen "$addr" 2>"$log" &
  else
    mkdir -p "$TMP/sql"
    wsql serve --dir "$TMP/sql" --key a-key-of-sixteen-chars --listen "$addr" 2>"$log" &
  fi
  PIDS+=("$!")
  local i
  for i in $(seq 1 100); do
    LINE=$(grep -o 'listening on [^ ]*' "$log" || true)
    [ -n "$LINE" ] && { PORT=${LINE##*:}; return 0; }
    sleep 0.05
  done
  fail "$prog serve --listen $addr did not start: $(cat "$log")"
}

# Refused before anything listens: a bare IPv6 address, a name that does
# not resolve.
run wpool serve --db "$TMP/x.db" --listen ::1:7070
expect_rc 65
expect_err "an IPv6 address goes in brackets, e.g. [::1]:7070"
run timeout 20 wpool serve --db "$TMP/x.db" --listen no-such-host.invalid:0
expect_rc 68
expect_err "listen address 'no-such-host.invalid'"

# *:PORT is every IPv4 interface; a host name is resolved.
serve_on wpool '*:0'
[ "$LINE" = "listening on 0.0.0.0:$PORT" ] || fail "*:0 printed '$LINE'"
curl -sf "http://127.0.0.1:$PORT/api/status" >/dev/null || fail "*:$PORT does not answer on 127.0.0.1"
serve_on wpool localhost:0
[ "$LINE" = "listening on localhost:$PORT" ] || fail "localhost:0 printed '$LINE'"
curl -sf "http://127.0.0.1:$PORT/api/status" >/dev/null || fail "localhost:$PORT does not answer"

if ! python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
  echo "SKIP: no IPv6 loopback (::1) on this machine: [::1]:PORT not tested"
  exit 77
fi
for prog in wpool wsql; do
  serve_on "$prog" '[::1]:0'
  [ "$LINE" = "listening on [::1]:$PORT" ] || fail "$prog [::1]:0 printed '$LINE'"
  curl -sfg -o /dev/null "http://[::1]:$PORT/" -w '%{http_code}' >"$TMP/code" ||
    [ "$prog" = wsql ] || fail "$prog on [::1]:$PORT does not answer"
  [ -n "$(cat "$TMP/code")" ] && [ "$(cat "$TMP/code")" != 000 ] || fail "$prog: no HTTP answer on [::1]:$PORT"
  # Only there: nothing on 127.0.0.1 at that port.
  ! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/" || fail "$prog on [::1] also answers on 127.0.0.1"
done
# wpool's own client over IPv6: a campaign submitted and its status read back.
serve_on wpool '[::1]:0'
datasets 3 | wpool submit six --pool "ws://[::1]:$PORT" --kernel "$W_KERNELS/echo.so" -q
run wpool status six --json --pool "ws://[::1]:$PORT"
expect_rc 0
expect_out '"total":3'
