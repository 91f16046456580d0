# Every option in `wbench --help` is in man/wbench.1, which lints clean.
. "$(dirname "$0")/common.sh"
man_covers_help wbench "$W_SRC/man/wbench.1"
out=$(mandoc -Tlint -Wwarning "$W_SRC/man/wbench.1" 2>&1 || true)
[ -z "$out" ] || fail "mandoc: $out"
