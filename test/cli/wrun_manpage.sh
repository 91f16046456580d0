# Every option in `wrun --help` is documented in man/wrun.1, which lints clean.
. "$(dirname "$0")/common.sh"
man_covers_help wrun "$W_SRC/man/wrun.1"
out=$(mandoc -Tlint -Wwarning "$W_SRC/man/wrun.1" 2>&1 || true)
[ -z "$out" ] || fail "mandoc: $out"
run wrun --help
expect_rc 0
expect_out "Examples:"
run wrun --version
expect_rc 0
expect_out "wrun (wkit)"
