# Every option of every wsql subcommand's --help is in man/wsql.1, which
# lints clean; --help ends with Examples.
. "$(dirname "$0")/common.sh"
for sub in serve cap query insert databases tables schema copy; do
  man_covers_help wsql "$W_SRC/man/wsql.1" "$sub"
done
out=$(mandoc -Tlint -Wwarning "$W_SRC/man/wsql.1" 2>&1 || true)
[ -z "$out" ] || fail "mandoc: $out"
run wsql --help
expect_rc 0
expect_out "Examples:"
expect_out "wsql serve --dir ./data"
run wsql --version
expect_rc 0
expect_out "wsql (wkit)"
