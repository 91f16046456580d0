# Usage mistakes are caught before anything runs, with exit 2 for flags
# and 65 for bad values, and a message naming the problem.
. "$(dirname "$0")/common.sh"
run wsql
expect_rc 2
expect_err "wsql: error:"
run wsql serve --dir "$TMP/d"
expect_rc 65
expect_err "serve: give --secret FILE or --key KEY"
run wsql serve --dir "$TMP/d" --key k --map nonsense
expect_rc 65
expect_err "--map wants NAME=FILE.csv, got 'nonsense'"
run wsql serve --dir "$TMP/d" --key k --listen 127.0.0.1:99999
expect_rc 65
run wsql serve --dir "$TMP/d" --key k --statement-timeout soon
expect_rc 2
expect_err "not a duration: 'soon'"
run wsql serve --dir "$TMP/d" --key k --commit-delay 2s
expect_rc 2
expect_err "--commit-delay: at most 1s"
run wsql 'ftp://host/db' 'SELECT 1'
expect_rc 65
expect_err "'ftp://host/db' is not a ws://, wss://, http:// or https:// URL"
run wsql 'ws://127.0.0.1:99999/db' 'SELECT 1'
expect_rc 65
expect_err "bad port"
run wsql -f xml 'ws://127.0.0.1:1/db' 'SELECT 1'
expect_rc 2
run wsql insert 'ws://127.0.0.1:1/db' t --batch 0
expect_rc 2
run wsql insert 'ws://127.0.0.1:1/db' t --conflict maybe
expect_rc 2
run wsql cap --rights read
expect_rc 65
expect_err "cap: give --secret FILE, --key KEY or a URL"
# A server that cannot bind says so and exits.
run wsql serve --dir "$TMP/d" --key k --listen 203.0.113.1:7080
[ "$rc" -ne 0 ] || fail "serve on a foreign address succeeded"
expect_err "wsql: error:"
