# examples/slurm/wrun.sbatch on a real, throwaway Slurm cluster on this
# machine (munged, slurmctld and slurmd of Debian's packages, started here
# with their own key, sockets, ports and spool under $TMP):
#   1. sbatch --array=0-3 of the script against a real pool: all four array
#      tasks work, a divisible campaign is done exactly once with the
#      results of filter mode, and scancel ends every job by wrun's drain,
#      long before Slurm's SIGKILL (KillWait) would;
#   2. the SIGTERM Slurm sends before a time limit (the script's
#      --signal=B:TERM, sent here as slurmctld sends it: `scancel --batch
#      --signal=TERM`): the job finishes the tasks in its slot, leaves no
#      lease to expire, ends by itself (COMPLETED), and another worker
#      finishes the campaign, each task once and none cut short;
#   3. a real one-minute time limit: the job ends within the limit and
#      Slurm's grace, its leases are all handed back, nothing is lost.
# Slurm runs jobs as the submitting user, so slurmd must run as root; as
# another user the test is skipped (exit 77), as CI runs it as root.
. "$(dirname "$0")/pool_common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: slurmd must run as root to start jobs" >&2; exit 77; }
for p in munged mungekey munge slurmctld slurmd sbatch scancel squeue sinfo scontrol; do
  command -v "$p" >/dev/null || fail "$p is missing: scripts/deps.sh installs munge and slurm"
done
SCRIPT=$W_SRC/examples/slurm/wrun.sbatch
. "$(dirname "$0")/slurm_common.sh"
start_slurm

SECRET=$TMP/pool.secret
POOL_ARGS="--secret $SECRET"
start_pool
export W_CAP=$(wpool cap --secret "$SECRET" --rights submit)
# Each job gets a work capability scoped to its own campaign, so the three
# cases run side by side without taking each other's tasks.
work_cap() { wpool cap --secret "$SECRET" --rights work --campaign "$1"; }
export WRUN_CACHE=$TMP/cache

# 3 first, since it waits for Slurm's clock: a campaign it cannot finish in
# a minute (busy10ms: 10 ms of CPU each), one slot, --time=1. slurmctld
# checks time limits every 30 s and signals early by up to that much: the
# script's B:TERM@120 would come at the first check, maybe before wrun is
# up; B:TERM@1 comes 30 to 60 s in, with wrun at work.
wgen range 0 20000 --step 1 | wpool submit limit --kernel "$W_KERNELS/busy10ms.so" 2>/dev/null
limit_job=$(W_CAP=$(work_cap limit) sbatch_wrun --time=1 --signal=B:TERM@1 --cpus-per-task=1)
limit_start=$(date +%s)

# 1. The array: four workers of two slots each, connected before the
# campaign is submitted so that all of them take part.
array_job=$(W_CAP=$(work_cap div) sbatch_wrun --array=0-3 --cpus-per-task=2)
wait_job_workers "$array_job" 4
wgen range 0 200000 --step 100 >"$TMP/div.in"
# --no-speculate: the campaign lasts about a second, and a job that was
# slow at its end had every task it held copied and won by the others (a
# CI run stored 1734, 262, 4 and 0 results); this checks that all take part.
run wpool submit div --kernel "$W_KERNELS/divisible.so" --static '{"divisor":123}' --no-speculate \
  <"$TMP/div.in"
expect_rc 0
run timeout 180 wpool wait div --timeout 120s
expect_rc 0
wpool results div >"$TMP/div.jsonl"
[ "$(wc -l <"$TMP/div.jsonl")" = 2000 ] || fail "div: $(wc -l <"$TMP/div.jsonl") results, not 2000"
[ "$(jq -r .task "$TMP/div.jsonl" | sort -u | wc -l)" = 2000 ] || fail "div: a task has two results"
[ "$(jq -r .worker "$TMP/div.jsonl" | sort -u | wc -l)" = 4 ] ||
  fail "div: not every array task took part: $(jq -r .worker "$TMP/div.jsonl" | sort | uniq -c)"
wrun -k "$W_KERNELS/divisible.so" --static '{"divisor":123}' -j 2 -q <"$TMP/div.in" >"$TMP/filter.jsonl"
jq -c '[.seq, .output]' "$TMP/div.jsonl" | sort >"$TMP/a"
jq -c '[.seq, .output]' "$TMP/filter.jsonl" | sort >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "div: pool and filter-mode outputs differ"
# scancel: Slurm sends SIGTERM to every process of the jobs and SIGKILL
# KillWait (30 s) later; the idle wruns drain and exit 0 at once, so every
# job ends well before.
t0=$(date +%s)
scancel "$array_job"
wait_job_end "$array_job" 15
for i in 0 1 2 3; do
  log=$TMP/job-${array_job}_$i.out
  grep -q 'wrun: draining: finishing' "$log" || fail "array task $i did not drain: $(cat "$log")"
  ! grep -qE 'Killed|interrupted twice' "$log" || fail "array task $i was killed: $(cat "$log")"
done
echo "slurm_wrun: 4 array jobs drained and ended $(($(date +%s) - t0)) s after scancel" >&2

# 2. The signal before a time limit, while tasks run: 30 tasks of 8 steps
# (~0.4 s or more each, checkpointed after each step), one slot; the
# signal comes once the job has done 2.
for i in $(seq 0 29); do echo '{"steps":8}'; done >"$TMP/slow.in"
run wpool submit slow --kernel "$W_KERNELS/steps.so" <"$TMP/slow.in"
expect_rc 0
slow_job=$(W_CAP=$(work_cap slow) sbatch_wrun --cpus-per-task=1)
wait_job_workers "$slow_job" 1
for _ in $(seq 1 600); do
  [ "$(wpool status slow --json | jq '.campaigns[0].done')" -ge 2 ] && break
  sleep 0.1
done
[ "$(wpool status slow --json | jq '.campaigns[0].done')" -ge 2 ] || fail "slow: the job did not start"
scancel --batch --signal=TERM "$slow_job"
wait_job_end "$slow_job" 30
job_state "$slow_job" | grep -qx COMPLETED || fail "slow: job ended $(job_state "$slow_job"), not COMPLETED"
log=$TMP/job-${slow_job}_0.out
# The tasks wrun had sent to its slot (one running, one queued in the slot)
# finish; none was waiting in wrun itself, so none is handed back here.
drain=$(grep -o 'draining: finishing [0-9]* running tasks, handing back [0-9]*' "$log") ||
  fail "slow: no drain: $(cat "$log")"
# Drained means nothing is leased any more (no lease is left to expire):
# what the job did not finish is queued for the next worker.
status=$(wpool status slow --json)
jq -e '.campaigns[0] | .leased == 0 and .queued == .total - .done and .failed == 0' <<<"$status" >/dev/null ||
  fail "slow: leases left after the drain: $status"
done_by_job=$(jq '.campaigns[0].done' <<<"$status")
[ "$done_by_job" -lt 30 ] || fail "slow: the job did every task before the signal: $status $(cat "$log")"
start_worker finisher -j 2 --cap "$(work_cap slow)"
run timeout 180 wpool wait slow --timeout 150s
expect_rc 0
wpool results slow >"$TMP/slow.jsonl"
[ "$(jq -r .task "$TMP/slow.jsonl" | sort -u | wc -l)" = 30 ] || fail "slow: $(wc -l <"$TMP/slow.jsonl") results"
[ "$(wc -l <"$TMP/slow.jsonl")" = 30 ] || fail "slow: a task has two results"
# As filter mode gives it: every task ran its 8 steps from step 0, none
# was cut short by the signal and resumed.
jq -se 'all(.[]; .output == {"steps": 8, "started": 0, "ran": 8})' "$TMP/slow.jsonl" >/dev/null ||
  fail "slow: a task was cut short: $(jq -c 'select(.output.started != 0)' "$TMP/slow.jsonl" | head -3)"
fin=$(worker_id finisher)
[ "$(jq --arg f "$fin" -s '[.[] | select(.worker == $f)] | length' "$TMP/slow.jsonl")" = $((30 - done_by_job)) ] ||
  fail "slow: the finisher did not do the rest"
echo "slurm_wrun: the signalled job did $done_by_job tasks ($drain)" >&2

# 3. The time limit: the job ends by itself or at the limit, within the
# limit and Slurm's grace (60 s + up to 30 s to notice + KillWait 30 s).
wait_job_end "$limit_job" $((150 - ($(date +%s) - limit_start)))
state=$(job_state "$limit_job")
case $state in COMPLETED | TIMEOUT) ;; *) fail "limit: job ended $state" ;; esac
log=$TMP/job-${limit_job}_0.out
back=$(sed -n 's/.*draining: finishing [0-9]* running tasks, handing back \([0-9]*\).*/\1/p' "$log")
[ -n "$back" ] || fail "limit: no drain: $(cat "$log")"
# Those waiting in wrun (often none: its slot takes the next task at once)
# are requeued at once.
requeues=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '$1 == "wpool_requeues_total" {print $2}')
[ "$requeues" -ge "$back" ] || fail "limit: the pool requeued $requeues, fewer than $back"
! grep -qE 'Killed|interrupted twice' "$log" || fail "limit: wrun was killed: $(cat "$log")"
status=$(wpool status limit --json)
jq -e '.campaigns[0] | .done > 0 and .leased == 0 and .queued == .total - .done and .failed == 0' \
  <<<"$status" >/dev/null || fail "limit: leases left or tasks lost after the job: $status"
[ "$(wpool results limit | jq -r .task | sort | uniq -d | wc -l)" = 0 ] || fail "limit: a task has two results"
echo "slurm_wrun: the time-limited job ($state) ended $(($(date +%s) - limit_start)) s after sbatch," \
  "$(jq '.campaigns[0].done' <<<"$status") tasks done, $back handed back, the rest queued" >&2
# Under the ASan build: no wrun run by Slurm reported an error or a leak.
! grep -l 'Sanitizer' "$TMP"/job-*.out || fail "sanitizer reports: $(grep -h -A5 'Sanitizer' "$TMP"/job-*.out | head -40)"
