# Before its hello a connection may hold only 64 KiB of unfinished message:
# it could hold --max-frame (16 MB) each, so 20 connections that start
# 8 MB messages and never finish them held 80 MB of the pool's memory. Now
# each is closed (1009) at 64 KiB and the pool's memory stays as it was;
# after hello, messages up to --max-frame pass as before.
. "$(dirname "$0")/pool_common.sh"
start_pool
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$POOL_PID/status"; }
run wpool status
expect_rc 0
before=$(rss_kb)
python3 "$W_SRC/test/integration/ws_partial.py" 127.0.0.1 "$PORT" /worker 20 8000000 4000000 4 \
  >"$TMP/partial" &
PIDS+=($!)
for _ in $(seq 1 200); do grep -q '^sent' "$TMP/partial" && break; sleep 0.05; done
grep -q '^sent' "$TMP/partial" || fail "ws_partial did not send: $(cat "$TMP/partial")"
sleep 1 # what the kernel still buffers reaches the pool
grown=$(($(rss_kb) - before))
wait "${PIDS[-1]}"
[ "$grown" -lt 20000 ] || fail "the pool grew by $grown kB for 20 unfinished pre-hello messages"
[ "$(grep -c '^closed 1009' "$TMP/partial")" = 20 ] ||
  fail "pre-hello connections were not closed at the cap: $(sort "$TMP/partial" | uniq -c)"
# After hello the full --max-frame applies: a 1 MB static dataset is one message.
head -c 700000 /dev/zero | tr '\0' 'x' | jq -Rc '{pad: .}' >"$TMP/static.json"
datasets 3 >"$TMP/in"
run wpool submit big --kernel "$W_KERNELS/echo.so" --static "$TMP/static.json" <"$TMP/in"
expect_rc 0
expect_err "3 datasets submitted"
kill -0 "$POOL_PID" || fail "the pool died"
