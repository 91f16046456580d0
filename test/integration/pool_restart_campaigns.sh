# After a restart, a finished campaign must not hold a worker: the pool
# only learns it has no tasks left by reading the store, and the worker
# then gets the next campaign's tasks (it used to sit idle for good).
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker a -j 1
datasets 10 | wpool submit old --kernel "$W_KERNELS/echo.so" -q
run timeout 60 wpool wait old
expect_rc 0
kill "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
kill "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true

POOL_STARTS=2 start_pool
datasets 10 | wpool submit new --kernel "$W_KERNELS/echo.so" -q
start_worker b -j 1
run timeout 20 wpool wait new
expect_rc 0
[ "$(wpool results new | wc -l)" -eq 10 ] || fail "expected 10 results of 'new'"
