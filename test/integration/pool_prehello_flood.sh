# 10,000 WebSockets that never say hello cannot lock a pool out. They filled
# --max-connections (10,000), and every real worker and client got HTTP 503
# for up to 30 s, renewable. Now at most half the places wait for a hello,
# a newcomer closes the oldest of those, and a real worker completes a
# campaign and `wpool status` answers while the flood (renewed as fast as
# the pool closes it) goes on.
. "$(dirname "$0")/pool_common.sh"
n=10000
# The pool and the flood each hold n sockets.
want=$((n + 2000))
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge "$want" ] || fail "needs a descriptor limit of $want (ulimit -Hn is $hard)"
ulimit -n "$want"
start_pool
"$W_BUILD/test-tools/ws_hold" --port "$PORT" --path /worker --conns "$n" --hold 90 --renew \
  --every 0.5 >"$TMP/hold" &
HOLD_PID=$!
PIDS+=("$HOLD_PID")
held() {
  local v
  v=$(tail -1 "$TMP/hold" | jq -r ".$1 // 0" 2>/dev/null || true)
  echo "${v:-0}"
}
# All n have been tried (30 s at most).
for _ in $(seq 1 300); do
  [ $(($(held upgraded) + $(held refused))) -ge "$n" ] && break
  sleep 0.1
done
[ $(($(held upgraded) + $(held refused))) -ge "$n" ] || fail "the flood did not get going: $(tail -1 "$TMP/hold")"
start_worker a -j 2
datasets 20 >"$TMP/in"
run timeout 60 wpool submit small --kernel "$W_KERNELS/echo.so" <"$TMP/in"
expect_rc 0
expect_err "20 datasets submitted"
run timeout 60 wpool wait small
expect_rc 0
run timeout 30 wpool status --json
expect_rc 0
jq -e '.campaigns[] | select(.name == "small") | .done == 20' "$TMP/out" >/dev/null ||
  fail "campaign not done: $(cat "$TMP/out")"
# The flood was on all along: it still holds sockets and keeps renewing them.
kill -0 "$HOLD_PID" 2>/dev/null || fail "the flood stopped early: $(tail -1 "$TMP/hold")"
[ "$(held open)" -gt 1000 ] || fail "the flood holds too few sockets: $(tail -1 "$TMP/hold")"
echo "flood: $(tail -1 "$TMP/hold")"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^wpool_(connections|connections_evicted_total|connections_refused_total) '
