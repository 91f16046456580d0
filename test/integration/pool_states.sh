# One vocabulary for campaign states: the `wpool status` table, its --json,
# /api/status, /api/history and the state label of /metrics name a campaign
# running, paused, done or cancelled alike (a finished campaign was "done"
# in the table but "running" everywhere else); "1 worker connected" is
# singular; /api/history wants the same capability as /api/status.
. "$(dirname "$0")/pool_common.sh"
SECRET=$TMP/pool.secret
POOL_ARGS="--secret $SECRET --history-interval 0.2s"
start_pool
export W_CAP
W_CAP=$(wpool cap --secret "$SECRET" --rights all)
WORK=$(wpool cap --secret "$SECRET" --rights work)
HTTP=http://127.0.0.1:$PORT

# states_agree CAMPAIGN WORD: every view names CAMPAIGN's state WORD.
states_agree() {
  local name=$1 want=$2 i got
  for i in $(seq 1 50); do  # a sample every 0.2 s: wait for the next
    got=$(curl -sf "$HTTP/api/history?cap=$W_CAP" |
      jq -r --arg n "$name" '[.samples[].campaigns[] | select(.name == $n) | .state] | last // "absent"')
    [ "$got" = "$want" ] && break
    sleep 0.1
  done
  [ "$got" = "$want" ] || fail "/api/history: '$name' is $got, not $want"
  wpool status "$name" >"$TMP/table"
  awk -v n="$name" '$1 == n { print $2 }' "$TMP/table" | grep -qx "$want" ||
    fail "table: '$name' is not $want: $(cat "$TMP/table")"
  wpool status "$name" --json | jq -e --arg w "$want" '.campaigns[0].state == $w' >/dev/null ||
    fail "--json: '$name' is not $want"
  curl -sf "$HTTP/api/status?cap=$W_CAP" |
    jq -e --arg n "$name" --arg w "$want" '.campaigns[] | select(.name == $n) | .state == $w' \
      >/dev/null || fail "/api/status: '$name' is not $want"
  curl -sf "$HTTP/metrics" >"$TMP/metrics"
  grep -qx "wpool_campaigns{state=\"$want\"} [1-9][0-9]*" "$TMP/metrics" ||
    fail "/metrics: no campaign counted $want"
}

datasets 40 >"$TMP/in"
wpool submit sq --kernel "$W_KERNELS/busy10ms.so" <"$TMP/in" 2>/dev/null
datasets 5 | wpool submit stopped --kernel "$W_KERNELS/busy10ms.so" 2>/dev/null
states_agree sq running
wpool pause sq
states_agree sq paused
wpool cancel stopped
states_agree stopped cancelled
# Every state is listed in /metrics, 0 or not.
# (Read whole first: grep -q leaves early, and curl's SIGPIPE would fail the
# pipe.)
curl -sf "$HTTP/metrics" >"$TMP/metrics"
for s in running paused done cancelled; do
  grep -q "^wpool_campaigns{state=\"$s\"} " "$TMP/metrics" || fail "/metrics lacks state $s"
done
# The table says "0 workers", "1 worker".
wpool status | tail -1 | grep -qx '0 workers connected' || fail "0 workers: $(wpool status | tail -1)"
start_worker a --cap "$WORK" -j 2
wait_workers 1
wpool status | tail -1 | grep -qx '1 worker connected' || fail "1 worker: $(wpool status | tail -1)"
wpool resume sq
timeout 60 wpool wait sq
states_agree sq done

# /api/history: the capability /api/status wants, samples oldest first.
code=$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/api/history")
[ "$code" = 403 ] || fail "/api/history without a capability: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/api/history?cap=$WORK")
[ "$code" = 403 ] || fail "/api/history with the work right only: $code"
curl -sf "$HTTP/api/history?key=$W_CAP" | jq -e '
  .interval_s == 0.2 and .capacity == 720 and (.samples | length) > 3 and
  ([.samples[].t] | . == sort) and (.samples[-1].workers == 1)' >/dev/null ||
  fail "history: $(curl -sf "$HTTP/api/history?cap=$W_CAP" | head -c 600)"
echo ok
