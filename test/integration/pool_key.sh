# A pool started with --key refuses workers and clients without it, with a
# clear message; malformed frames close only that connection.
. "$(dirname "$0")/pool_common.sh"
POOL_ARGS="--key s3cret --max-frame 65536"
start_pool
run wpool status
expect_rc 77
expect_err "denied: wrong or missing key"
run wpool status --key s3cret
expect_rc 0
run timeout 10 wrun "$POOL" --key wrong -j 1 --cache "$TMP/c"
expect_rc 77
expect_err "denied: wrong or missing key"
# A frame that is not msgpack: the server answers with an error, closes, and lives on.
python3 "$W_SRC/test/integration/ws_raw.py" 127.0.0.1 "$PORT" /worker c100 >"$TMP/node.out"
grep -q "closed 1008" "$TMP/node.out" || fail "expected close 1008: $(cat "$TMP/node.out")"
# An oversize frame (over --max-frame) closes the connection too.
python3 "$W_SRC/test/integration/ws_raw.py" 127.0.0.1 "$PORT" /worker zeros:70000 >"$TMP/big.out"
grep -qE "closed (1009|1006|1008)" "$TMP/big.out" || fail "oversize frame: $(cat "$TMP/big.out")"
run wpool status --key s3cret
expect_rc 0
