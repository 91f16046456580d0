# Clients tell a URL that can never work from a server that is away for a
# moment. Permanent failures end wrun and wpool at once, each with its own
# exit code: a bad URL 65, an unknown host 68, a path with no pool (HTTP
# 404) 69, a refused capability 77. Transient ones (nothing listening yet)
# are retried with growing delays: a worker started before its pool joins
# it when it comes up; a client gives up after --retry-for with 75. On a
# terminal the retries are one progress line.
. "$(dirname "$0")/pool_common.sh"
SECRET=$TMP/pool.secret
POOL_ARGS="--secret $SECRET"
start_pool
WORK=$(wpool cap --secret "$SECRET" --rights work)
SUBMIT=$(wpool cap --secret "$SECRET" --rights submit)

# expect_fast CODE TEXT CMD...: CMD exits CODE within 5 s, TEXT on stderr,
# and was not retried.
expect_fast() {
  local code=$1 text=$2
  shift 2
  local start=$(date +%s%N)
  run timeout 30 "$@"
  local ms=$((($(date +%s%N) - start) / 1000000))
  expect_rc "$code"
  expect_err "$text"
  [ "$ms" -lt 5000 ] || fail "$* took $ms ms"
  ! grep -q "attempt" "$TMP/err" || fail "$* retried a permanent failure: $(cat "$TMP/err")"
}
C=(--cache "$TMP/cache")
expect_fast 69 "HTTP 404" wrun "$POOL/nope" --cap "$WORK" "${C[@]}"
expect_fast 68 "no-such-host.invalid" wrun ws://no-such-host.invalid:7070 --cap "$WORK" "${C[@]}"
expect_fast 77 "denied" wrun "$POOL" --cap "$SUBMIT" "${C[@]}"
expect_fast 77 "denied" wrun "$POOL" --cap "w1:wpool:*:1:0:forged" "${C[@]}"
expect_fast 65 "is not a ws:// or wss:// URL" wrun ftp://127.0.0.1:1 "${C[@]}"
expect_fast 65 "bad port" wrun ws://127.0.0.1:0 "${C[@]}"
expect_fast 69 "HTTP 404" wpool status --pool "$POOL/nope" --cap "$SUBMIT"
expect_fast 68 "host 'no-such-host.invalid'" wpool status --pool ws://no-such-host.invalid:7070

# Nothing listens: a client retries for --retry-for, then 75, one warning
# per attempt when stderr is not a terminal.
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
start=$(date +%s%N)
run timeout 30 wpool status --cap "$SUBMIT" --retry-for 2s
ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 75
expect_err "giving up"
[ "$ms" -ge 2000 ] && [ "$ms" -lt 6000 ] || fail "gave up after $ms ms, not about 2 s"
n=$(grep -c "unreachable.*attempt" "$TMP/err")
[ "$n" -ge 4 ] || fail "only $n retries in 2 s: $(cat "$TMP/err")"
run timeout 30 wrun "$POOL" --cap "$WORK" --retry-for 1s "${C[@]}"
expect_rc 75
# On a terminal: the retries redraw one line (carriage returns), not one
# line each.
script -qec "wpool status --pool $POOL --cap $SUBMIT --retry-for 1s" /dev/null >"$TMP/tty" || true
grep -q $'\r' "$TMP/tty" || fail "no progress line on a terminal: $(cat -v "$TMP/tty")"
[ "$(grep -c 'attempt' "$TMP/tty")" -le 2 ] || fail "a line per retry on a terminal: $(cat -v "$TMP/tty")"

# A worker started while its pool is down joins it when it comes back on
# the same port, and runs its tasks.
start_worker early --cap "$WORK"
sleep 1
POOL_STARTS=2 start_pool "$PORT"
datasets 20 | wpool submit back --kernel "$W_KERNELS/echo.so" --cap "$SUBMIT" -q
run timeout 30 wpool wait back --cap "$SUBMIT" --timeout 20s
expect_rc 0
grep -q "attempt" "$TMP/worker-early.log" || fail "the worker did not retry: $(cat "$TMP/worker-early.log")"
grep -q "connected to" "$TMP/worker-early.log" || fail "the worker never connected"
echo ok
