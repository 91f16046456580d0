# Every option in `wsig --help` and `wsig cap --help` is documented in
# man/wsig.1, which lints clean.
. "$(dirname "$0")/common.sh"
man_covers_help wsig "$W_SRC/man/wsig.1"
man_covers_help wsig "$W_SRC/man/wsig.1" cap
out=$(mandoc -Tlint -Wwarning "$W_SRC/man/wsig.1" 2>&1 || true)
[ -z "$out" ] || fail "mandoc: $out"
run wsig --help
expect_rc 0
expect_out "Examples:"
expect_out "--allow-discovery"
run wsig --version
expect_rc 0
expect_out "wsig (wkit)"
