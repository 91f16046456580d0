# `wpool cap --secret FILE` never creates a secret: a mistyped path used to
# mint, with a new secret, a capability the pool then refused. A missing
# file is exit 66 naming `wpool secret new`, which creates one (mode 0600)
# and never overwrites. `wpool serve --secret` still creates a missing one.
. "$(dirname "$0")/../integration/pool_common.sh"

run wpool cap --secret "$TMP/typo.secret" --rights work
expect_rc 66
expect_err "wpool: error: secret file '$TMP/typo.secret' does not exist: create one with 'wpool secret new $TMP/typo.secret'"
[ ! -e "$TMP/typo.secret" ] || fail "cap created $TMP/typo.secret"
[ ! -s "$TMP/out" ] || fail "cap printed a capability: $(cat "$TMP/out")"

run wpool secret new "$TMP/pool.secret"
expect_rc 0
[ "$(stat -c %a "$TMP/pool.secret")" = 600 ] || fail "secret mode $(stat -c %a "$TMP/pool.secret")"
grep -qE '^[0-9a-f]{64}$' "$TMP/pool.secret" || fail "secret is not 64 hex digits: $(cat "$TMP/pool.secret")"
cp "$TMP/pool.secret" "$TMP/before"
run wpool secret new "$TMP/pool.secret"
expect_rc 2
expect_err "'$TMP/pool.secret' exists: a secret is never overwritten"
cmp -s "$TMP/before" "$TMP/pool.secret" || fail "secret new overwrote the secret"
ls "$TMP" | grep -q 'pool.secret\.' && fail "a temporary file was left: $(ls "$TMP")"
run wpool secret new "$TMP/no/such/dir/s"
expect_rc 66
run wpool secret
expect_rc 2

# The secret made by `secret new` is the pool's: its capabilities are accepted.
POOL_ARGS="--secret $TMP/pool.secret" start_pool
run wpool status --cap "$(wpool cap --secret "$TMP/pool.secret" --rights submit)"
expect_rc 0
run wpool status --cap "$(wpool cap --key not-the-secret-0123456789 --rights submit)"
expect_rc 77

# serve keeps creating a missing secret (mode 0600), and cap then reads it.
kill -9 "$POOL_PID"
POOL_ARGS="--secret $TMP/served.secret" POOL_STARTS=2 start_pool
[ "$(stat -c %a "$TMP/served.secret")" = 600 ] || fail "serve's secret mode $(stat -c %a "$TMP/served.secret")"
run wpool status --cap "$(wpool cap --secret "$TMP/served.secret" --rights submit)"
expect_rc 0
