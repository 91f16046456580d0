# Every option of wgen and its generators is in man/wgen.1, which lints clean.
. "$(dirname "$0")/common.sh"
man_covers_help wgen "$W_SRC/man/wgen.1"
for sub in range grid seeds blocks lines csv files kernel; do man_covers_help wgen "$W_SRC/man/wgen.1" $sub; done
out=$(mandoc -Tlint -Wwarning "$W_SRC/man/wgen.1" 2>&1 || true)
[ -z "$out" ] || fail "mandoc: $out"
