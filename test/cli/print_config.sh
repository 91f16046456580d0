# --print-config prints the settings of the command being run, each with
# where it came from (command line, environment, config FILE:LINE,
# default), and exits 0 without running the command (issue 15).
. "$(dirname "$0")/common.sh"
printf '# a comment\n[wait]\ntimeout = "1h"\nretry-for = "9s"\n' >"$TMP/wpool.toml"
# Nothing listens on port 9: the command itself would fail.
run env W_POOL=ws://127.0.0.1:9 wpool wait primes --config "$TMP/wpool.toml" --retry-for 5s --print-config
expect_rc 0
expect_out 'pool = "ws://127.0.0.1:9"   # environment W_POOL'
expect_out "timeout = \"1h\"   # config $TMP/wpool.toml:3"
expect_out 'retry-for = "5s"   # command line'
expect_out 'insecure = false   # default'
expect_out '[wait]'
# The environment wins over the file, and says so.
run env WPOOL_TIMEOUT=3m wpool wait primes --config "$TMP/wpool.toml" --print-config
expect_rc 0
expect_out 'timeout = "3m"   # environment WPOOL_TIMEOUT'
expect_out "retry-for = \"9s\"   # config $TMP/wpool.toml:4"
# Another program, another scope: a top-level key of wrun's file.
printf 'timeout = "7s"\n' >"$TMP/wrun.toml"
run wrun -k "$W_KERNELS/divisible.so" --config "$TMP/wrun.toml" --print-config
expect_rc 0
expect_out "timeout = \"7s\"   # config $TMP/wrun.toml:1"
echo ok
