# In pool mode too, a kernel whose load-time code (constructor, static
# initializer, linked library, thread) tries to act outside the sandbox
# leaves no mark: its tasks fail with the reason after --max-attempts and the
# worker goes on to the next campaign.
. "$(dirname "$0")/pool_common.sh"
ESCAPE=$W_BIN/../escape
export WKIT_ESCAPE_MARK=$TMP/mark
cd "$TMP"
start_pool
start_worker a -j 2
for k in ctor static_init linked thread ifunc; do
  datasets 4 | wpool submit "escape-$k" --kernel "$ESCAPE/$k.so" --max-attempts 2 --timeout 5s >/dev/null
  run timeout 60 wpool wait "escape-$k"
  expect_rc 1
  sleep 0.5 # the thread's attempt comes 0.3 s after load
  [ ! -e "$WKIT_ESCAPE_MARK" ] || fail "$k.so escaped the sandbox in pool mode: $(cat "$WKIT_ESCAPE_MARK")"
  [ ! -e wkit-ifunc-mark ] || fail "$k.so escaped the sandbox in pool mode (ifunc mark)"
  wpool results "escape-$k" | jq -r .error >"$TMP/errors"
  [ "$(grep -cE 'forbidden system call|the sandbox lets a kernel link only' "$TMP/errors")" -eq 4 ] ||
    fail "$k.so: tasks failed without the sandbox's reason: $(cat "$TMP/errors")"
done
# The worker lives on and runs a campaign that is allowed to run.
datasets 10 | wpool submit fine --kernel "$W_KERNELS/echo.so" >/dev/null
run timeout 60 wpool wait fine
expect_rc 0
