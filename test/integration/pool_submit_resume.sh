# Submit is atomic and resumable (issue 13): kill -9 of the pool during a
# 2,000,000-dataset `wpool submit --once-key K` leaves a prefix stored and
# the submit says so; after a restart, the same command line skips exactly
# what the pool acknowledged under K ("resumed at record N") and appends
# the rest: 2,000,000 tasks, each dataset once, in order. Bounded: every
# step runs under a timeout. The release build takes ~30 s for the whole
# test on 2 loaded cores; the Debug+ASan build needed 450 s for 2 M there
# (250 s of it the resume), too close to ctest's 600 s, so under ASan
# (W_SANITIZE=1) it checks the same with 400,000.
. "$(dirname "$0")/pool_common.sh"
if [ "${W_SANITIZE:-0}" = 1 ]; then N=${W_RESUME_N:-400000}; else N=${W_RESUME_N:-2000000}; fi
start_pool
datasets "$N" >"$TMP/in"

wpool submit big --kernel "$W_KERNELS/echo.so" --once-key night-1 <"$TMP/in" 2>"$TMP/submit1.err" &
SUB=$!
PIDS+=("$SUB")
stored=0
for _ in $(seq 1 1200); do
  stored=$(wpool status big --json 2>/dev/null | jq '.campaigns[0].total // 0' 2>/dev/null || echo 0)
  [ "${stored:-0}" -ge $((N / 10)) ] && break
  sleep 0.05
done
[ "${stored:-0}" -ge $((N / 10)) ] || fail "the submit stored only ${stored:-0} datasets in 60 s"
kill -9 "$POOL_PID"
wait "$POOL_PID" 2>/dev/null || true
set +e
timeout 60 tail --pid="$SUB" -f /dev/null
wait "$SUB"
src=$?
set -e
[ "$src" = 74 ] || fail "the interrupted submit exited $src: $(cat "$TMP/submit1.err")"
grep -qE "campaign 'big': submit interrupted after [0-9]+ datasets were stored" "$TMP/submit1.err" ||
  fail "the interrupted submit does not say how many were stored: $(cat "$TMP/submit1.err")"
grep -qF "run it again with --once-key night-1 to add the rest" "$TMP/submit1.err" ||
  fail "no hint to resume: $(cat "$TMP/submit1.err")"
said=$(grep -oE "after [0-9]+ datasets were stored" "$TMP/submit1.err" | grep -oE "[0-9]+")

POOL_STARTS=2 start_pool "$PORT"
stored=$(wpool status big --json | jq '.campaigns[0].total')
[ "$stored" -gt 0 ] && [ "$stored" -lt "$N" ] || fail "after the kill, $stored of $N are stored"
[ "$stored" -ge "$said" ] || fail "the submit said $said were stored, the pool has $stored"
echo "killed with $stored of $N stored (the submit had heard of $said)"

# The same command line again: resumes exactly where the pool stopped.
start=$(date +%s)
run timeout 300 wpool submit big --kernel "$W_KERNELS/echo.so" --once-key night-1 <"$TMP/in"
expect_rc 0
expect_err "campaign 'big': once-key 'night-1' resumed at record $stored"
echo "resumed in $(($(date +%s) - start)) s"
[ "$(wpool status big --json | jq '.campaigns[0].total')" = "$N" ] ||
  fail "after the resume: $(wpool status big --json | jq '.campaigns[0].total') tasks, not $N"
# Every dataset once, at its own place: the task of seq i holds {"x": i}.
/usr/bin/python3 - "$TMP/pool.db" "$N" <<'PY' || fail "tasks do not match the input"
import sqlite3, sys
import msgpack
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
n = int(sys.argv[2])
seen = 0
for seq, blob in db.execute("SELECT seq, input FROM tasks ORDER BY seq"):
    if seq != seen or msgpack.unpackb(blob) != {"x": seq}:
        sys.exit(f"task at seq {seq} (expected {seen}) holds {msgpack.unpackb(blob)}")
    seen += 1
if seen != n:
    sys.exit(f"{seen} tasks, not {n}")
PY

# Once more: everything was acknowledged, nothing is added.
run timeout 300 wpool submit big --once-key night-1 <"$TMP/in"
expect_rc 0
expect_err "once-key 'night-1' was submitted before; nothing added"
[ "$(wpool status big --json | jq '.campaigns[0].total')" = "$N" ] || fail "the third run added tasks"
