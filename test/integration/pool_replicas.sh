# Result verification: with --replicas 2 --quorum 2, two honest workers and
# one that cheats (test kernel cheat.so under W_TEST_CHEAT=1), the campaign
# completes, every accepted output is the honest one (as in filter mode),
# the cheater is flagged with a lower score and the honest workers are not.
# Then the pool is killed (kill -9) mid-campaign and restarted: the votes it
# had committed are still there, nothing is lost or stored twice. Last, a
# task whose replicas all disagree fails with "no quorum".
. "$(dirname "$0")/pool_common.sh"
n=300
[ "${W_SANITIZE:-0}" = 1 ] && n=100
start_pool
start_worker a -j 1
honest=("$WORKER_PID")
start_worker b -j 1
honest+=("$WORKER_PID")
W_TEST_CHEAT=1 start_worker c -j 1
wait_workers 3
datasets $n >"$TMP/in"
run wpool submit verified --kernel "$W_KERNELS/cheat.so" --replicas 2 --quorum 2 <"$TMP/in"
expect_rc 0
run timeout 120 wpool wait verified --timeout 100s
expect_rc 0
wpool results verified >"$TMP/pool.jsonl"
[ "$(wc -l <"$TMP/pool.jsonl")" -eq $n ] || fail "expected $n results, got $(wc -l <"$TMP/pool.jsonl")"
[ "$(jq -r .task "$TMP/pool.jsonl" | sort -u | wc -l)" -eq $n ] || fail "duplicate results"
wrun -k "$W_KERNELS/cheat.so" -q <"$TMP/in" >"$TMP/filter.jsonl"
jq -c '[.seq, .output]' "$TMP/pool.jsonl" | sort >"$TMP/a"
jq -c '[.seq, .output]' "$TMP/filter.jsonl" | sort >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "an accepted output is not the honest one: $(diff "$TMP/a" "$TMP/b" | head -5)"
cheater=$(wpool workers --json | jq -r '.[] | select(.name == "c") | .id')
! jq -r .worker "$TMP/pool.jsonl" | grep -qxF "$cheater" || fail "a result names the cheater"

wpool workers --json >"$TMP/w.json"
jq -e '[.[] | select(.name == "c")] | length == 1 and .[0].flagged and .[0].disagreements > 0' \
  "$TMP/w.json" >/dev/null || fail "cheater not flagged: $(cat "$TMP/w.json")"
jq -e '[.[] | select(.name != "c") | .flagged] == [false, false]' "$TMP/w.json" >/dev/null ||
  fail "an honest worker is flagged: $(cat "$TMP/w.json")"
jq -e '([.[] | select(.name == "c") | .score] | max) < ([.[] | select(.name != "c") | .score] | min)' \
  "$TMP/w.json" >/dev/null || fail "cheater's score is not the lowest: $(cat "$TMP/w.json")"
wpool status verified --json | jq -e '.campaigns[0] | .replicas == 2 and .quorum == 2 and .done == '$n >/dev/null ||
  fail "status: $(wpool status verified --json)"
curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -qE '^wpool_disagreements_total [1-9]' "$TMP/metrics" || fail "metrics: $(grep disagree "$TMP/metrics")"
grep -q '^wpool_workers_flagged 1$' "$TMP/metrics" || fail "metrics: $(grep flagged "$TMP/metrics")"

# kill -9 mid-campaign: the honest workers' committed votes survive the
# restart, the campaign completes with one honest result per task.
datasets $n | sed 's/{"x"/{"y"/' >"$TMP/in2"
run wpool submit again --kernel "$W_KERNELS/busy10ms.so" --replicas 2 <"$TMP/in2"
expect_rc 0
for _ in $(seq 1 100); do
  [ "$(wpool status again --json | jq '.campaigns[0].done')" -gt 10 ] && break
  sleep 0.05
done
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
POOL_STARTS=2 start_pool "$PORT"
run timeout 120 wpool wait again --timeout 100s
expect_rc 0
wpool results again >"$TMP/again.jsonl"
[ "$(wc -l <"$TMP/again.jsonl")" -eq $n ] || fail "after restart: $(wc -l <"$TMP/again.jsonl") results"
[ "$(jq -r .seq "$TMP/again.jsonl" | sort -u | wc -l)" -eq $n ] || fail "after restart: duplicates"
wpool workers --json | jq -e '[.[] | select(.name == "c")][0].flagged' >/dev/null ||
  fail "the flag did not survive the restart"
# The flagged worker got no replicas after the restart: every result names an honest worker.
! jq -r .worker "$TMP/again.jsonl" | grep -qxF "$cheater" || fail "the flagged worker's result was accepted"
grep -q '"replicas"' <(wpool status again --json) || fail "status lacks replicas"

# replicas=1 is today's campaign: one result per task, from any worker.
datasets 50 >"$TMP/in3"
run wpool submit plain --kernel "$W_KERNELS/echo.so" <"$TMP/in3"
expect_rc 0
run timeout 60 wpool wait plain --timeout 50s
expect_rc 0
wpool status plain --json | jq -e '.campaigns[0] | .replicas == 1 and .quorum == 1 and .done == 50' >/dev/null ||
  fail "plain campaign: $(wpool status plain --json)"

# Three workers, three different answers, bound 3 (2 replicas + 1
# attempt): no quorum, and nobody is flagged for it.
kill -9 "${honest[@]}"
W_TEST_CHEAT=2 start_worker d -j 1
W_TEST_CHEAT=3 start_worker e -j 1
start_worker f -j 1
wait_workers 4
echo '{"z":1}' | wpool submit split --kernel "$W_KERNELS/cheat.so" --replicas 2 --quorum 2 \
  --max-attempts 1 -q
run timeout 60 wpool wait split --timeout 50s
expect_rc 1
expect_err "campaign 'split': 1 of 1 task failed"
wpool results split >"$TMP/split.jsonl"
jq -e '.error == "no quorum: 3 results from different workers, 3 different values, at most 1 agree (2 needed)"' \
  "$TMP/split.jsonl" >/dev/null || fail "split: $(cat "$TMP/split.jsonl")"
wpool workers --json | jq -e '[.[] | select(.flagged) | .name] == ["c"]' >/dev/null ||
  fail "flagged after no quorum: $(wpool workers --json)"
