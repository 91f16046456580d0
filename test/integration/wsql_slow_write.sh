#!/usr/bin/env bash
# A slow write must not fail other clients' writes. Writes of many clients
# share one group transaction (group commit); a write that outran the event
# loop's 50 ms slice used to be interrupted to move to the worker thread,
# and SQLite answers an interrupted write inside a transaction by rolling
# back the whole transaction: other clients' inserts in the group then
# failed ("commit failed, nothing was written: the transaction was rolled
# back by SQLite"). Here one client repeats a write of 300,000 rows (run
# from the statement cache, so on the loop) while three others insert in
# small batches: every insert must succeed and every row be there once.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
U="$WS/runs?cap=$ALL"
wsql "$U" 'CREATE TABLE big (x INTEGER)' >/dev/null 2>&1 || fail "create big"
wsql "$U" 'CREATE TABLE r (writer INTEGER, i INTEGER, PRIMARY KEY (writer, i))' >/dev/null 2>&1 ||
  fail "create r"
python3 -c "
for w in (1, 2, 3):
    with open('$TMP/w%d.jsonl' % w, 'w') as f:
        for i in range(20000): f.write('{\"writer\": %d, \"i\": %d}\n' % (w, i))"

slow() {
  local n
  for n in $(seq 12); do
    wsql "$U" 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)
               INSERT INTO big SELECT x FROM c' >/dev/null 2>>"$TMP/slow.err" ||
      echo "slow write $n failed" >>"$TMP/slow.failed"
  done
}
slow &
slow_pid=$!
pids=()
for w in 1 2 3; do
  timeout 300 wsql insert --batch 100 "$U" r <"$TMP/w$w.jsonl" 2>"$TMP/w$w.err" &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
wait "$slow_pid"
((failed == 0)) || fail "$failed of 3 inserts failed beside a slow write: $(cat "$TMP"/w*.err)"
[ ! -s "$TMP/slow.failed" ] || fail "the slow write failed: $(cat "$TMP/slow.err")"
run wsql "$U" 'SELECT count(*) AS n, count(DISTINCT writer * 100000 + i) AS d FROM r'
expect_rc 0
expect_out '{"n":60000,"d":60000}'
run wsql "$U" 'SELECT count(*) AS n FROM big'
expect_out '{"n":3600000}'
server_alive
