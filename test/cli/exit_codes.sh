# One exit-code table for every program: each man page's EXIT STATUS and the
# README's table list the same codes with the same words; the rows no other
# test covers are checked on the real programs here: 124 for an expired
# `wpool wait --timeout` (not 2, so cron tells a timeout from a typo) and
# 130 for an interrupted wrun.
. "$(dirname "$0")/../integration/pool_common.sh"

# The table: "CODE text" lines, one per row, from a man page as read.
man_table() {
  mandoc -Tascii "$1" | sed 's/.\x08//g' | awk '
    /^EXIT STATUS/ { on = 1; next }
    /^[A-Z]/ { on = 0 }
    !on { next }
    /^     [0-9]+ / { if (row != "") print row; row = $1 " "; $1 = ""; sub(/^ +/, ""); row = row $0; next }
    row != "" && NF { sub(/^ +/, ""); row = row " " $0 }
    END { if (row != "") print row }'
}
man_table "$W_SRC/man/wpool.1" >"$TMP/wpool.table"
[ "$(wc -l <"$TMP/wpool.table")" -ge 15 ] || fail "wpool.1 EXIT STATUS: $(cat "$TMP/wpool.table")"
for page in "$W_SRC"/man/*.1; do
  man_table "$page" >"$TMP/t"
  diff "$TMP/wpool.table" "$TMP/t" >"$TMP/d" || fail "$page EXIT STATUS differs from wpool.1: $(cat "$TMP/d")"
done
# README: | CODE | text | rows, text with `--flag` as the man page shows --flag.
grep -E '^\| [0-9]+ \| ' "$W_SRC/README.md" | sed -E 's/^\| ([0-9]+) \| (.*) \|$/\1 \2/; s/`//g' >"$TMP/readme.table"
diff "$TMP/wpool.table" "$TMP/readme.table" >"$TMP/d" || fail "README exit codes differ from wpool.1: $(cat "$TMP/d")"

# 124: wpool wait --timeout expiring, as timeout(1); the message says so.
start_pool
datasets 3 | wpool submit idle --kernel "$W_KERNELS/echo.so" -q # no worker: never complete
run timeout 20 wpool wait idle --timeout 300ms
expect_rc 124
expect_err "wpool: error: campaign 'idle' not complete after 0.3 s (0 of 3 done)"
# ... and 2 stays usage: a bad duration.
run wpool wait idle --timeout soon
expect_rc 2
wpool wait --help >"$TMP/help"
grep -qF "124 timeout" "$TMP/help" || wpool --help | grep -qF "124 timeout" || fail "wpool --help does not say 124"

# 130: wrun interrupted by SIGTERM while a task runs.
printf '{"loop":1}\n' >"$TMP/in"
wrun -k "$W_KERNELS/loop.so" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
pid=$!
PIDS+=("$pid")
sleep 1
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
expect_rc 130

# 2: options that do not make sense together, refused at start: a relay
# window that cannot fit in its receiver's queue (wsig would close every
# fast circuit with "Receiver's queue is full").
run wsig -p 0 -H 127.0.0.1 --relay-window 4096
expect_rc 2
grep -q -- '--send-queue' "$TMP/err" || fail "wsig does not say which option to raise: $(cat "$TMP/err")"
