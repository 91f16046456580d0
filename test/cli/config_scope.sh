# Config files scope and are checked: a [wait] section applies to `wpool
# wait` only (it used to change `status` too, both commands binding one
# variable); keys no option has, misspelt keys and unknown sections are
# refused (exit 2) naming FILE:LINE; precedence is flag > environment >
# config > default.
. "$(dirname "$0")/../integration/pool_common.sh"
start_pool
unset W_POOL # each command below finds the pool through the config file
datasets 3 | wpool submit idle --pool "$POOL" --kernel "$W_KERNELS/echo.so" -q

# [status] has the real pool, [wait] (after it) a dead one: status is not
# changed by wait's section, wait is.
cat >"$TMP/scoped.toml" <<TOML
[status]
pool = "$POOL"

[wait]
pool = "ws://127.0.0.1:1"
retry-for = "300ms"
TOML
run wpool --config "$TMP/scoped.toml" status idle --json
expect_rc 0
expect_out '"name":"idle"'
run wpool --config "$TMP/scoped.toml" wait idle
expect_rc 75
expect_err "ws://127.0.0.1:1/"
# [wpool.wait] names the same section.
printf '[wpool.wait]\npool = "ws://127.0.0.1:1"\nretry-for = "300ms"\n' >"$TMP/dotted.toml"
run wpool --config "$TMP/dotted.toml" wait idle
expect_rc 75
expect_err "ws://127.0.0.1:1/"

# A top-level key goes to the command run when it has the option, and is
# another command's setting (ignored) when it does not.
printf 'pool = "%s"\ntimeout = "200ms"\n' "$POOL" >"$TMP/top.toml"
run timeout 20 wpool --config "$TMP/top.toml" wait idle
expect_rc 124
expect_err "not complete after 0.2 s"
run wpool --config "$TMP/top.toml" status idle
expect_rc 0

# Unknown keys, misspelt keys and unknown sections: exit 2, FILE:LINE, key.
printf 'pool = "%s"\ncolour = "red"\n' "$POOL" >"$TMP/bad.toml"
run wpool --config "$TMP/bad.toml" status
expect_rc 2
expect_err "$TMP/bad.toml:2: unknown key 'colour': no wpool option has it"
printf '[status]\njson = true\n\n[wait]\ntimout = "1s"\n' >"$TMP/typo.toml"
run wpool --config "$TMP/typo.toml" status --pool "$POOL" # checked even when not run
expect_rc 2
expect_err "$TMP/typo.toml:5: unknown key 'timout' in [wait]"
printf '[stauts]\npool = "x"\n' >"$TMP/section.toml"
run wpool --config "$TMP/section.toml" status
expect_rc 2
expect_err "$TMP/section.toml:1: unknown section [stauts]: no 'wpool stauts' command"
run wpool --config /etc/passwd status
expect_rc 2
expect_err "/etc/passwd:1: unknown key"
run wrun --config "$TMP/typo.toml" -k "$W_KERNELS/echo.so" </dev/null
expect_rc 2
expect_err "unknown section [status]: no 'wrun status' command"

# Precedence, on wrun --timeout (a loop.so task shows which one won):
# default 60s < config 300ms < WRUN_TIMEOUT 200ms < --timeout 100ms.
printf '{"loop":1}\n' >"$TMP/in"
printf 'kernel = "%s"\ntimeout = "300ms"\n' "$W_KERNELS/loop.so" >"$TMP/wrun.toml"
run wrun --config "$TMP/wrun.toml" <"$TMP/in"
expect_out "still running after 0.3 s"
WRUN_TIMEOUT=200ms run wrun --config "$TMP/wrun.toml" <"$TMP/in"
expect_out "still running after 0.2 s"
WRUN_TIMEOUT=200ms run wrun --config "$TMP/wrun.toml" --timeout 100ms <"$TMP/in"
expect_out "still running after 0.1 s"
wrun --help | grep -- '--timeout' | grep -qF 'DURATION=60s (Env:WRUN_TIMEOUT)' || fail "wrun --help does not show the 60s default"
