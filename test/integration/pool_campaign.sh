# pool + 2 workers + 10,000 tasks: every task has exactly one result, and
# the outputs equal the filter-mode run of the same kernel on the same input.
. "$(dirname "$0")/pool_common.sh"
n=10000
[ "${W_SANITIZE:-0}" = 1 ] && n=3000
start_pool
start_worker a -j 2
start_worker b -j 1
wait_workers 2
datasets $n >"$TMP/in"
# --no-speculate: both workers must take part (checked below), and at the
# end idle ones may win copies of every task a slow one holds.
run wpool submit echo --kernel "$W_KERNELS/echo.so" --no-speculate <"$TMP/in"
expect_rc 0
expect_err "$n datasets submitted"
run timeout 120 wpool wait echo
expect_rc 0
wpool results echo >"$TMP/pool.jsonl"
[ "$(wc -l <"$TMP/pool.jsonl")" -eq $n ] || fail "expected $n results, got $(wc -l <"$TMP/pool.jsonl")"
[ "$(jq -r .task "$TMP/pool.jsonl" | sort -u | wc -l)" -eq $n ] || fail "duplicate results"
jq -e -s 'all(.[]; .platform == "linux-x86_64" and (.worker|type) == "string")' "$TMP/pool.jsonl" >/dev/null ||
  fail "records lack worker/platform"
wrun -k "$W_KERNELS/echo.so" -j 2 -q <"$TMP/in" >"$TMP/filter.jsonl"
jq -c '[.seq, .output]' "$TMP/pool.jsonl" | sort >"$TMP/a"
jq -c '[.seq, .output]' "$TMP/filter.jsonl" | sort >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "pool and filter-mode outputs differ"
# Both workers took part.
[ "$(jq -r .worker "$TMP/pool.jsonl" | sort -u | wc -l)" -eq 2 ] || fail "only one worker ran tasks"
