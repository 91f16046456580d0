# A submit without --once-key that loses its pool says how many datasets
# were stored and exits 74; an empty submit, or one that fails before its
# first dataset (bad input, a client gone after `open`, a pool killed right
# after it), leaves no campaign behind (it used to stay, shown done 100%).
. "$(dirname "$0")/pool_common.sh"
start_pool
N=400000
datasets "$N" >"$TMP/in"
KERNEL=$W_KERNELS/echo.so

wpool submit loose --kernel "$KERNEL" <"$TMP/in" 2>"$TMP/submit.err" &
SUB=$!
PIDS+=("$SUB")
for _ in $(seq 1 1200); do
  stored=$(wpool status loose --json 2>/dev/null | jq '.campaigns[0].total // 0' 2>/dev/null || echo 0)
  [ "${stored:-0}" -ge 20000 ] && break
  sleep 0.05
done
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
set +e
timeout 60 tail --pid="$SUB" -f /dev/null
wait "$SUB"
src=$?
set -e
[ "$src" = 74 ] || fail "the interrupted submit exited $src: $(cat "$TMP/submit.err")"
grep -qE "campaign 'loose': submit interrupted after [0-9]+ datasets were stored" "$TMP/submit.err" ||
  fail "the interrupted submit does not say how many were stored: $(cat "$TMP/submit.err")"
said=$(grep -oE "after [0-9]+ datasets were stored" "$TMP/submit.err" | grep -oE "[0-9]+")
unsure=$(grep -oE "[0-9]+ more were sent but not acknowledged" "$TMP/submit.err" | grep -oE "^[0-9]+" || echo 0)
POOL_STARTS=2 start_pool "$PORT"
stored=$(wpool status loose --json | jq '.campaigns[0].total')
[ "$stored" -ge "$said" ] && [ "$stored" -le $((said + unsure)) ] ||
  fail "the submit said $said stored (+$unsure unsure), the pool has $stored"

no_campaign() {
  run wpool status "$1"
  expect_rc 66
}
# Nothing on stdin: nothing created.
run wpool submit empty --kernel "$KERNEL" </dev/null
expect_rc 0
expect_err "campaign 'empty': no datasets on stdin; nothing added"
no_campaign empty
# The first record is bad: the error, and no campaign.
run wpool submit bad --kernel "$KERNEL" <<<'not json'
expect_rc 65
no_campaign bad
# A bad record after good ones: those before it are stored.
{ datasets 10; echo '{"x":'; } >"$TMP/part"
run wpool submit part --kernel "$KERNEL" <"$TMP/part"
expect_rc 65
expect_err "10 datasets submitted before the error"
[ "$(wpool status part --json | jq '.campaigns[0].total')" = 10 ] || fail "part"

# A client that opens a campaign and goes away before any dataset; then
# one whose pool is killed right after the campaign was opened.
sha=$(wpool kernel add "$KERNEL")
open_and_leave() {  # NAME [SECONDS to hold the connection open]
  /usr/bin/python3 - "$PORT" "$1" "$sha" "${2:-0}" <<'PY'
import os, sys, time
sys.path.insert(0, os.environ["W_SRC"] + "/test/integration")
from pool_protocol import CLIENT_HELLO, Closed, Conn
c = Conn(int(sys.argv[1]), "/client")
c.send(CLIENT_HELLO)
c.receive()
c.send({"t": "open", "name": sys.argv[2], "kernel": sys.argv[3]})
m = c.receive()
assert m["t"] == "opened", m
print("opened", flush=True)
# Hold the connection until the pool goes away (or the time is up).
deadline = time.time() + float(sys.argv[4])
while time.time() < deadline:
    try:
        c.receive()
    except Closed as e:
        if "timeout" not in str(e):
            break
c.close()
PY
}
open_and_leave ghost >/dev/null
for _ in $(seq 1 40); do
  wpool status ghost >/dev/null 2>&1 || break
  sleep 0.05
done
no_campaign ghost
open_and_leave ghost2 30 >"$TMP/opener" &
OPENER=$!
PIDS+=("$OPENER")
for _ in $(seq 1 100); do
  grep -q opened "$TMP/opener" && break
  sleep 0.05
done
grep -q opened "$TMP/opener" || fail "ghost2 was not opened"
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
wait "$OPENER" 2>/dev/null || true
POOL_STARTS=3 start_pool "$PORT"
no_campaign ghost2
[ "$(wpool status loose --json | jq '.campaigns[0].total')" = "$stored" ] || fail "loose changed"

# A client older than resumable submits (no `resumable` in open) is told to
# skip a once-key that has datasets, as before; a new one where to resume.
datasets 10 | wpool submit keyed --kernel "$KERNEL" --once-key k1 2>/dev/null
/usr/bin/python3 - "$PORT" <<'PY' >"$TMP/opened" || fail "open probe failed"
import os, sys
sys.path.insert(0, os.environ["W_SRC"] + "/test/integration")
from pool_protocol import CLIENT_HELLO, Conn
for resumable in (False, True):
    c = Conn(int(sys.argv[1]), "/client")
    c.send(CLIENT_HELLO)
    c.receive()
    m = {"t": "open", "name": "keyed", "once_key": "k1"}
    if resumable:
        m["resumable"] = True
    c.send(m)
    o = c.receive()
    print(resumable, o.get("skip"), o.get("resume"))
    c.close()
PY
[ "$(cat "$TMP/opened")" = "$(printf 'False True 0\nTrue False 10')" ] ||
  fail "open answers: $(cat "$TMP/opened")"
