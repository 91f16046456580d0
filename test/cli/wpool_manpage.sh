# Every option of every wpool subcommand is in man/wpool.1, which lints clean.
. "$(dirname "$0")/common.sh"
for sub in "" serve submit status wait results workers cancel pause resume delete kernel cap secret; do
  if [ -z "$sub" ]; then man_covers_help wpool "$W_SRC/man/wpool.1"; else man_covers_help wpool "$W_SRC/man/wpool.1" "$sub"; fi
done
out=$(mandoc -Tlint -Wwarning "$W_SRC/man/wpool.1" "$W_SRC/man/w-protocol.7" 2>&1 || true)
[ -z "$out" ] || fail "mandoc: $out"
run wpool
expect_rc 2
expect_err "A subcommand is required"
run wpool submit
expect_rc 2
expect_err "campaign is required"
