# Replicas across platforms: a browser's floats may differ from a native
# worker's in the last bit, and neither is wrong. Votes are compared only
# among workers of one platform (homogeneous redundancy) unless the campaign
# gives a --quorum-tolerance, and an honest worker of another platform is
# never flagged. A task that cannot reach a quorum because no other worker
# is there fails with "no quorum" instead of stalling. (A Python worker says
# it is wasm32 and nudges every float up one ulp; the real browser is tested
# in browser_replicas.sh.)
. "$(dirname "$0")/pool_common.sh"
fake() { # fake ID PLATFORM MODE
  PYTHONPATH="$W_SRC/test/integration" /usr/bin/python3 "$W_SRC/test/integration/pool_platform_worker.py" \
    "$PORT" "$1" "$2" "$3" 2>>"$TMP/fake-$1.log" &
  PIDS+=("$!")
}
floats() { seq 1 "$1" | awk '{ printf "{\"x\":%d,\"f\":%.17g}\n", $1, $1 / 7 }'; }
start_pool
fake browser wasm32 ulp
start_worker a -j 1
start_worker b -j 1
wait_workers 3

# 1 browser + 2 natives, --replicas 3 (a majority: 2): every task accepted,
# with the natives' value, nobody flagged.
floats 40 >"$TMP/in"
run wpool submit mixed --kernel "$W_KERNELS/echo.so" --replicas 3 <"$TMP/in"
expect_rc 0
run timeout 60 wpool wait mixed
expect_rc 0
wpool results mixed | jq -c '[.input.x, .output.f]' | sort >"$TMP/got"
jq -c '[.x, .f]' "$TMP/in" | sort >"$TMP/want"
cmp -s "$TMP/got" "$TMP/want" || fail "accepted values: $(diff "$TMP/got" "$TMP/want" | head -3)"
wpool workers --json | jq -e 'all(.[]; .flagged == false)' >/dev/null ||
  fail "an honest worker is flagged: $(wpool workers --json)"

# With a tolerance, the browser and one native agree: --replicas 2.
kill -9 "$WORKER_PID"
floats 20 | sed 's/"x"/"y"/' >"$TMP/in2"
run wpool submit tolerant --kernel "$W_KERNELS/echo.so" --replicas 2 --quorum-tolerance 1e-9 <"$TMP/in2"
expect_rc 0
run timeout 60 wpool wait tolerant
expect_rc 0
wpool workers --json | jq -e 'all(.[]; .flagged == false)' >/dev/null ||
  fail "flagged under a tolerance: $(wpool workers --json)"

# Without one, 1 browser + 1 native cannot agree: each task fails with
# "no quorum" after its --timeout instead of stalling.
floats 3 | sed 's/"x"/"z"/' >"$TMP/in3"
run wpool submit stuck --kernel "$W_KERNELS/echo.so" --replicas 2 --timeout 1s <"$TMP/in3"
expect_rc 0
run timeout 60 wpool wait stuck
expect_rc 1
wpool results stuck | jq -r .error >"$TMP/errors"
[ "$(grep -c '^no quorum: 2 results from 2 platforms (linux-x86_64, wasm32)' "$TMP/errors")" -eq 3 ] ||
  fail "no quorum: $(cat "$TMP/errors")"
wpool workers --json | jq -e 'all(.[]; .flagged == false)' >/dev/null ||
  fail "flagged without a quorum: $(wpool workers --json)"
