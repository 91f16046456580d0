# Coupled campaigns, the pool's side, spoken by scripted workers
# (pool_group_worker.py) against a real wpool: `--group 2` is stored and
# shown; each task runs as two members with one group id, ranks 0 and 1,
# on two one-slot workers, without prefetch; the stored output is the
# array of the members' outputs by rank; with one free slot nothing is
# dispatched until a second worker joins; the two slots with the closest
# dhrystone scores are chosen; welcome carries --sig; a worker whose hello
# says coupled=false gets no member.
. "$(dirname "$0")/pool_common.sh"
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || fail "python3-msgpack is not installed (scripts/deps.sh)"
POOL_ARGS="--sig ws://127.0.0.1:9/"
start_pool
fake() { timeout 60 /usr/bin/python3 "$(dirname "$0")/pool_group_worker.py" "$PORT" "$@"; }

datasets 3 | wpool submit pair --kernel "$W_KERNELS/echo.so" --group 2 -q
wpool status pair --json | jq -e '.campaigns[0].group == 2' >/dev/null ||
  fail "status lacks group 2: $(wpool status pair --json)"
SIG=ws://127.0.0.1:9/ run fake pair 3
expect_rc 0
expect_out ok
run timeout 10 wpool wait pair --timeout 5s
expect_rc 0
wpool results pair >"$TMP/pair.jsonl"
[ "$(wc -l <"$TMP/pair.jsonl")" -eq 3 ] || fail "expected 3 results: $(cat "$TMP/pair.jsonl")"
jq -e -s 'all(.[]; .output | length == 2 and .[0].rank == 0 and .[1].rank == 1 and
                  ([.[].w] | sort) == ["ga", "gb"])' "$TMP/pair.jsonl" >/dev/null ||
  fail "outputs are not 2-arrays by rank: $(cat "$TMP/pair.jsonl")"
jq -e -s 'all(.[]; .worker == "ga,gb" or .worker == "gb,ga")' "$TMP/pair.jsonl" >/dev/null ||
  fail "worker column: $(jq -c .worker "$TMP/pair.jsonl")"
wpool delete pair -q

# Gang scheduling: one free slot is not enough for a group of 2.
datasets 2 | wpool submit gang --kernel "$W_KERNELS/echo.so" --group 2 -q
run fake wait
expect_rc 0
expect_out ok
run timeout 10 wpool wait gang --timeout 5s
expect_rc 0
wpool results gang | jq -e -s 'length == 2 and all(.[]; .output | length == 2)' >/dev/null ||
  fail "gang results: $(wpool results gang)"
# 3 + 2 runs, and one more: the pair that took the second task left with it.
grep -q '^wpool_group_runs_total 6$' <(curl -sf "http://127.0.0.1:$PORT/metrics") ||
  fail "$(curl -sf "http://127.0.0.1:$PORT/metrics" | grep group)"

# Similar dhrystone scores are preferred.
run fake scores
expect_rc 0
expect_out ok
wpool results scores | jq -e '.worker == "sy,sz" or .worker == "sz,sy"' >/dev/null ||
  fail "scores: $(wpool results scores)"

# Too few slots in all for a group: an idle worker serves another campaign.
echo '{"x":1}' | wpool submit coupled --kernel "$W_KERNELS/echo.so" --group 2 -q
echo '{"x":1}' | wpool submit plain --kernel "$W_KERNELS/echo.so" -q
run fake fallback
expect_rc 0
expect_out ok
run timeout 10 wpool wait coupled --timeout 5s
expect_rc 0

# A worker that cannot run members (coupled=false) is left out of the runs.
echo '{"x":1}' | wpool submit uncoupled --kernel "$W_KERNELS/echo.so" --group 2 -q
run fake uncoupled
expect_rc 0
expect_out ok
run timeout 10 wpool wait uncoupled --timeout 5s
expect_rc 0

# What the pool refuses.
run wpool submit bad --kernel "$W_KERNELS/echo.so" --group 2 --replicas 2 </dev/null
expect_rc 65
expect_err "cannot be combined"
run wpool serve --db "$TMP/other.db" --listen 127.0.0.1:0 --sig http://x/
[ "$rc" -ne 0 ] || fail "--sig http:// was accepted"
expect_err "not a ws:// or wss:// URL"
