# `wsql cap` mints capabilities from a secret file or a key, with the
# rights, database and expiry asked for. It never creates the secret: a
# mistyped path used to mint, with a new secret, capabilities the server
# refused. A missing file is exit 66 naming `wsql secret new`, which makes
# one (mode 0600) and never overwrites it.
. "$(dirname "$0")/common.sh"
run wsql cap --secret "$TMP/s" --db runs --rights read,write
expect_rc 66
expect_err "wsql: error: secret file '$TMP/s' does not exist: create one with 'wsql secret new $TMP/s'"
[ ! -e "$TMP/s" ] || fail "cap created $TMP/s"
[ ! -s "$TMP/out" ] || fail "cap printed a capability: $(cat "$TMP/out")"
run wsql secret new "$TMP/s"
expect_rc 0
[ "$(stat -c %a "$TMP/s")" = 600 ] || fail "secret file mode $(stat -c %a "$TMP/s")"
cp "$TMP/s" "$TMP/before"
run wsql secret new "$TMP/s"
expect_rc 2
cmp -s "$TMP/before" "$TMP/s" || fail "secret new overwrote the secret"
run wsql cap --secret "$TMP/s" --db runs --rights read,write
expect_rc 0
grep -qE '^w1:wsql:runs:3:0:[A-Za-z0-9_-]{43}$' "$TMP/out" || fail "format: $(cat "$TMP/out")"
first=$(cat "$TMP/out")
run wsql cap --secret "$TMP/s" --db runs --rights read,write
[ "$(cat "$TMP/out")" = "$first" ] || fail "the secret changed between runs"
run wsql cap --key 'a shared key of some length' --rights all
grep -q '^w1:wsql:\*:f:0:' "$TMP/out" || fail "all rights: $(cat "$TMP/out")"
now=$(date +%s)
run wsql cap --key 'a shared key of some length' --rights db --expires 1h
exp=$(cut -d: -f5 "$TMP/out")
[ "$exp" -ge $((now + 3590)) ] && [ "$exp" -le $((now + 3610)) ] || fail "expiry $exp, now $now"
run wsql cap --key 'a shared key of some length' --rights read,admin
expect_rc 65
expect_err "unknown right 'admin' (known: all, read, write, table, db)"
run wsql cap --key 'a shared key of some length' --db ../x
expect_rc 65
expect_err "bad database name '../x'"
printf 'short\n' >"$TMP/short"
run wsql cap --secret "$TMP/short"
expect_rc 65
expect_err "shorter than 16 characters"
