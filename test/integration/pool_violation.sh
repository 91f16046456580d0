# A worker that breaks the protocol (a message over --max-frame, a results
# message that does not decode) is closed, and the tasks it held each fail
# an attempt with the reason: they used to come back without one, for ever
# (98 reconnect cycles in 40 s). Alone, such a worker ends a campaign after
# --max-attempts; beside an honest worker, the campaign completes.
. "$(dirname "$0")/pool_common.sh"
start_pool
for mode in oversize badtype; do
  PYTHONPATH="$W_SRC/test/integration" /usr/bin/python3 "$W_SRC/test/integration/pool_platform_worker.py" \
    "$PORT" "bad-$mode" linux-x86_64 "$mode" 2>>"$TMP/bad.log" &
  bad=$!
  PIDS+=("$bad")
  datasets 4 | sed "s/\"x\"/\"$mode\"/" | wpool submit "alone-$mode" --kernel "$W_KERNELS/echo.so" --max-attempts 2 >/dev/null
  run timeout 30 wpool wait "alone-$mode"
  expect_rc 1
  expect_err "4 of 4 tasks failed"
  wpool results "alone-$mode" | jq -r .error >"$TMP/errors"
  [ "$(grep -c 'worker connection closed: ' "$TMP/errors")" -eq 4 ] || fail "$mode: $(cat "$TMP/errors")"
  kill -9 "$bad"
done
grep 'worker connection closed' "$TMP/errors" | head -1 | grep -q "results: " ||
  fail "the reason does not name the field: $(head -1 "$TMP/errors")"

# Beside an honest worker the campaign completes.
PYTHONPATH="$W_SRC/test/integration" /usr/bin/python3 "$W_SRC/test/integration/pool_platform_worker.py" \
  "$PORT" bad-again linux-x86_64 oversize 2>>"$TMP/bad.log" &
PIDS+=("$!")
start_worker honest -j 1
datasets 40 | wpool submit mixed --kernel "$W_KERNELS/echo.so" --max-attempts 3 >/dev/null
run timeout 60 wpool wait mixed
expect_rc 0
