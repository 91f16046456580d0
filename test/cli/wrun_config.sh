# Options come from --config (TOML), WRUN_* environment variables and flags,
# flags winning over the environment.
. "$(dirname "$0")/common.sh"
printf '{"x":1}\n{"loop":1}\n' >"$TMP/in"
cat >"$TMP/wrun.toml" <<TOML
kernel = "$W_KERNELS/loop.so"
timeout = "300ms"
keep-going = true
jobs = 1
TOML
run wrun --config "$TMP/wrun.toml" <"$TMP/in"
expect_rc 1
expect_out '"error":"timeout: still running after 0.3 s"'
expect_err "2 tasks: 1 ok, 1 failed"

# The environment sets the timeout; the flag overrides it.
WRUN_TIMEOUT=200ms run wrun -k "$W_KERNELS/loop.so" --keep-going <"$TMP/in"
expect_out "still running after 0.2 s"
WRUN_TIMEOUT=200ms run wrun -k "$W_KERNELS/loop.so" --keep-going --timeout 100ms <"$TMP/in"
expect_out "still running after 0.1 s"

run wrun --config "$TMP/missing.toml"
expect_rc 2
expect_err "missing.toml"

# W_CONFIG names the file when --config is not given; --config wins.
W_CONFIG="$TMP/wrun.toml" run wrun <"$TMP/in"
expect_rc 1
expect_out "still running after 0.3 s"
printf 'timeout = "100ms"\n' >"$TMP/other.toml"
W_CONFIG="$TMP/wrun.toml" run wrun --config "$TMP/other.toml" -k "$W_KERNELS/loop.so" --keep-going <"$TMP/in"
expect_out "still running after 0.1 s"
W_CONFIG="$TMP/missing.toml" run wrun -k "$W_KERNELS/loop.so" <"$TMP/in"
expect_rc 2
expect_err "W_CONFIG=$TMP/missing.toml: no such file"

# A subcommand's section applies through W_CONFIG as through --config.
printf '[status]\npool = "ws://127.0.0.1:1"\nretry-for = "1s"\n' >"$TMP/wpool.toml"
W_CONFIG="$TMP/wpool.toml" run wpool status
expect_rc 75
expect_err "ws://127.0.0.1:1/"
