# `wsql cap` mints capabilities from a secret file (created private if
# missing) or a key, with the rights, database and expiry asked for.
. "$(dirname "$0")/common.sh"
run wsql cap --secret "$TMP/s" --db runs --rights read,write
expect_rc 0
grep -qE '^w1:wsql:runs:3:0:[A-Za-z0-9_-]{43}$' "$TMP/out" || fail "format: $(cat "$TMP/out")"
[ "$(stat -c %a "$TMP/s")" = 600 ] || fail "secret file mode $(stat -c %a "$TMP/s")"
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
