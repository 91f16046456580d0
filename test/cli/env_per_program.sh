# Each program reads its own variables (WPOOL_TIMEOUT, WSQL_FORMAT, ...);
# only W_POOL, W_CAP, W_CACERT, W_CONFIG and W_KERNEL_PATH are shared. An old
# generic W_<NAME> still set is refused with the name that replaced it,
# instead of changing another program's behaviour (W_TIMEOUT set for wrun
# used to make `wpool wait` give up).
. "$(dirname "$0")/../integration/pool_common.sh"
start_pool # exports W_POOL: every wpool client below finds the pool through it
datasets 5 | wpool submit idle --kernel "$W_KERNELS/echo.so" -q # no worker: never complete

# W_TIMEOUT is refused, naming the new variable, before anything is waited for.
W_TIMEOUT=1s run timeout 20 wpool wait idle
expect_rc 2
expect_err "wpool: error: W_TIMEOUT is no longer read: use WPOOL_TIMEOUT"

# WPOOL_TIMEOUT is read; the flag still beats it.
WPOOL_TIMEOUT=1s run timeout 20 wpool wait idle
expect_rc 124
expect_err "campaign 'idle' not complete after 1 s"
WPOOL_TIMEOUT=1s run timeout 20 wpool wait idle --timeout 200ms
expect_err "not complete after 0.2 s"
# Another program's variable is not wpool's.
WRUN_TIMEOUT=1s WSQL_TIMEOUT=1s run timeout 3 wpool wait idle
expect_rc 124 # killed by timeout(1): wpool waited on

# W_POOL still reaches every wpool client command; WPOOL_POOL is not a name.
run wpool status idle --json
expect_rc 0
expect_out '"name":"idle"'

# Each program names its own variable.
W_FORMAT=msgpack run wsql query ws://127.0.0.1:1/db 'select 1'
expect_rc 2
expect_err "W_FORMAT is no longer read: use WSQL_FORMAT"
W_FORMAT=msgpack run wgen range 0 3 --step 1
expect_rc 2
expect_err "W_FORMAT is no longer read: use WGEN_FORMAT"
W_KEY=k run timeout 5 wsig -p 0
expect_rc 2
expect_err "W_KEY is no longer read: use WSIG_KEY"
W_JOBS=2 run wrun -k "$W_KERNELS/echo.so"
expect_rc 2
expect_err "W_JOBS is no longer read: use WRUN_JOBS"
W_SECONDS=1 run wbench
expect_rc 2
expect_err "W_SECONDS is no longer read: use WBENCH_SECONDS"

# The program's own variable works: WGEN_FORMAT switches wgen to msgpack.
WGEN_FORMAT=msgpack wgen range 0 3 --step 1 >"$TMP/mp"
[ "$(head -c 1 "$TMP/mp" | od -An -tx1 | tr -d ' ')" != 7b ] || fail "WGEN_FORMAT=msgpack still wrote JSON"

# The shared W_CACERT is read by wsql too (here a file that does not exist).
W_CACERT=$TMP/none.pem run wsql query wss://127.0.0.1:1/db 'select 1'
expect_rc 2
expect_err "none.pem"
