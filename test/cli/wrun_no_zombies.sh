# After crashes, timeouts and a normal end, wrun leaves no child processes.
. "$(dirname "$0")/common.sh"
{ for i in $(seq 1 20); do echo '{"a":1}'; echo '{"crash":1}'; done; } >"$TMP/in"
wrun -k "$W_KERNELS/crash.so" -j 2 --keep-going <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 0.5
# While it runs or after, every child it had must have been reaped.
wait $pid || true
left=$(ps -eo pid=,ppid=,stat=,comm= | awk -v p=$pid '$2==p' | wc -l)
[ "$left" -eq 0 ] || fail "$left children of wrun left behind"
[ "$(wc -l <"$TMP/out")" -eq 40 ] || fail "expected 40 records"
# Killing wrun takes its slots down too (PR_SET_PDEATHSIG).
printf '{"loop":1}\n%.0s' 1 2 3 4 >"$TMP/loop"
wrun -k "$W_KERNELS/loop.so" -j 2 --timeout 0 <"$TMP/loop" >/dev/null 2>&1 &
pid=$!
sleep 0.5
kids=$(children_of $pid)
[ -n "$kids" ] || fail "no slots seen"
kill -9 $pid
wait $pid 2>/dev/null || true
sleep 0.3
# (A dead slot may linger as a zombie of PID 1 until it reaps; only a
# running one is a failure.)
for k in $kids; do
  state=$(ps -o stat= -p "$k" 2>/dev/null || true)
  case "$state" in "" | Z*) ;; *) fail "slot $k outlived its worker (state $state)" ;; esac
done
