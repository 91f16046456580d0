#!/usr/bin/env bash
# Group commit follows the load: once a group holds several writes, the next
# one is committed as soon as as many have come back, not after the whole
# --commit-delay. With a 500 ms delay and 4 writes in flight, the old rule
# (wait the delay for every group) took 250 s for these 2,000 rows; now
# they take about a second. The groups still gather writes (fewer commits
# than rows), every acknowledged row is on disk after kill -9, and a writer
# left alone waits one delay at most.
source "$(dirname "$0")/wsql_common.sh"
start_server --commit-delay 500ms
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create","table":"d","columns":{"i":"INTEGER PRIMARY KEY"}}' "$ALL" runs >/dev/null
metric() { curl -s -m 10 "$HTTP/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
before=$(metric wsql_commits_total)
# One row per request, acknowledged one by one (a window of 4 in flight).
seq 1 2000 | sed 's/.*/{"i":&}/' >"$TMP/rows"
timeout 60 wsql insert -q --batch 1 "$WS/runs?cap=$ALL" d <"$TMP/rows" ||
  fail "2,000 single-row inserts, 4 in flight, did not finish in 60 s with --commit-delay 500ms"
commits=$(($(metric wsql_commits_total) - before))
echo "2000 rows in $commits commits"
((commits > 0 && commits <= 1000)) || fail "$commits commits for 2,000 rows: the groups did not gather writes"
# Alone now: the first write after groups of 4 waits for company, one delay at most.
t0=$(date +%s%N)
run timeout 10 wsql "$WS/runs?cap=$ALL" 'INSERT INTO d (i) VALUES (2001)'
elapsed=$((($(date +%s%N) - t0) / 1000000))
((elapsed < 5000)) || fail "a lone write took $elapsed ms"
crash_and_restart
run wsql "$WS/runs?cap=$ALL" 'SELECT count(*) AS n FROM d'
expect_out '{"n":2001}'
server_alive
