#!/usr/bin/env bash
# wsql serve --busy-poll: answers as without it; the loop keeps polling
# (a core busy) only while requests come closer together than the
# duration, and sleeps again once they stop; bad values are usage errors.
source "$(dirname "$0")/wsql_common.sh"

# cpu_s PID: CPU seconds the process has used so far.
cpu_s() { awk '{ printf "%.2f\n", ($14 + $15) / 100 }' "/proc/$1/stat"; }
# queries N: N point selects, one process each (some ms apart).
queries() {
  local i
  for i in $(seq 1 "$1"); do
    [ "$(wsql "$U" 'SELECT v FROM t WHERE id = ?' $((i % 3 + 1)))" = "{\"v\":$((i % 3 + 1))0}" ] ||
      fail "query $i: wrong answer"
  done
}

run wsql serve --dir "$TMP/x" --key k --busy-poll 2s
expect_rc 2
expect_err "--busy-poll: at most 1s"
run wsql serve --dir "$TMP/x" --key k --busy-poll soon
expect_rc 2
expect_err "--busy-poll: not a duration"

for poll in 0 50ms; do
  DATA=$TMP/data-$poll start_server --busy-poll "$poll"
  ALL=$(mint all)
  rpc '{"op":"create_db","db":"b"}' >/dev/null
  U="$WS/b?cap=$ALL"
  wsql -q "$U" 'CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)' >/dev/null
  wsql -q "$U" 'INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)' >/dev/null
  c0=$(cpu_s "$SERVER_PID") t0=$(date +%s.%N)
  queries 30
  c1=$(cpu_s "$SERVER_PID") t1=$(date +%s.%N)
  busy=$(echo "($c1 - $c0) / ($t1 - $t0)" | bc -l)
  sleep 1
  idle=$(echo "$(cpu_s "$SERVER_PID") - $c1" | bc -l)
  echo "busy-poll $poll: server busy $(printf %.2f "$busy") of the queries' wall time, $idle s of CPU idle for 1 s" >&2
  # Asleep once the requests stop (a spin that never ends would take ~1 s).
  [ "$(echo "$idle < 0.3" | bc -l)" = 1 ] || fail "busy-poll $poll: $idle s of CPU in 1 s without requests"
  if [ "$poll" = 0 ]; then
    [ "$(echo "$busy < 0.1" | bc -l)" = 1 ] || fail "without busy polling the server was busy $busy of the time"
  else
    # Requests a few ms apart: it polled between them (a core, less what
    # the other tests running beside this one take).
    [ "$(echo "$busy > 0.2" | bc -l)" = 1 ] || fail "with --busy-poll 50ms the server was busy only $busy of the time"
  fi
  stop_server
done
