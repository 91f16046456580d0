# wsig refuses what it cannot serve, with a message naming the cause and a
# named exit code: a taken port, bad option values, a lone TLS file, cap
# without a secret.
. "$(dirname "$0")/common.sh"

# A port someone else holds: "Address already in use", exit 74 (EX_IOERR).
python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' >"$TMP/port" &
holder=$!
trap 'kill $holder 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
port=$(cat "$TMP/port")
run timeout 10 wsig --host 127.0.0.1 --port "$port"
expect_rc 74
expect_err "wsig: error: listen 127.0.0.1:$port: Address already in use"

run wsig --port 70000
expect_rc 2
expect_err "--port"

run timeout 10 wsig --port 0 --key a/b
expect_rc 65
expect_err "invalid key 'a/b'"

run timeout 10 wsig --port 0 --sslkey "$W_SRC/man/wsig.1"
expect_rc 65
expect_err "--sslkey and --sslcert go together"

run wsig cap lab
expect_rc 65
expect_err "cap: give --group-secret FILE"

# `wsig cap` never creates the secret (a mistyped path would mint what the
# server refuses); `wsig secret new` does, mode 0600; capabilities are w1:wsig:...
run wsig cap lab --group-secret "$TMP/secret" --rights create,join
expect_rc 66
expect_err "secret file '$TMP/secret' does not exist: create one with 'wsig secret new $TMP/secret'"
[ ! -e "$TMP/secret" ] || fail "cap created $TMP/secret"
run wsig secret new "$TMP/secret"
expect_rc 0
run wsig cap lab --group-secret "$TMP/secret" --rights create,join
expect_rc 0
expect_out "w1:wsig:lab:3:0:"
[ "$(stat -c %a "$TMP/secret")" = 600 ] || fail "secret file is not mode 600"
run wsig cap lab --group-secret "$TMP/secret" --rights fly
expect_rc 65
expect_err "unknown right 'fly'"
