# A throwaway Slurm cluster of one node on this machine, for tests that
# submit jobs: munged with its own key and socket, slurmctld and slurmd on
# free ports, every file under $TMP. Sourced after pool_common.sh (whose
# PIDS and cleanup stop the daemons); SLURM_CONF is exported so sbatch,
# squeue, scancel and the jobs' srun talk to this cluster only.
#
# No cgroups (proctrack/linuxproc, task/none), no accounting, no MPI: what
# a container without systemd can run. slurmd is told it has 16 CPUs
# (config_overrides), so a 2-core machine can hold every test job at once.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_munge: munged on $TMP/run/munge.sock with a fresh key. munged wants
# every directory above its socket searchable by all, so $TMP becomes 0711
# (still not listable); its key stays in a 0700 directory.
start_munge() {
  chmod 711 "$TMP"
  mkdir -p "$TMP/run" "$TMP/munge"
  chmod 755 "$TMP/run"
  chmod 700 "$TMP/munge"
  mungekey --create --keyfile="$TMP/munge/munge.key" >/dev/null 2>&1 ||
    fail "mungekey could not create a key"
  MUNGE_SOCKET=$TMP/run/munge.sock
  munged --foreground --socket="$MUNGE_SOCKET" --key-file="$TMP/munge/munge.key" \
    --pid-file="$TMP/run/munged.pid" --log-file="$TMP/munge/munged.log" \
    --seed-file="$TMP/munge/munged.seed" 2>>"$TMP/munge/munged.err" &
  PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    munge --socket="$MUNGE_SOCKET" --no-input >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "munged did not start: $(cat "$TMP/munge/munged.err")"
}

# write_slurm_conf: $TMP/slurm.conf for one node, wnode, on 127.0.0.1.
# KillWait is Slurm's default, said here because the tests' bounds rest on
# it: a job that ignored SIGTERM would end only this long after it.
write_slurm_conf() {
  local host
  host=$(hostname -s)
  mkdir -p "$TMP/slurm/state" "$TMP/slurm/spool"
  cat >"$TMP/slurm.conf" <<EOF
ClusterName=wkit-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$TMP/slurm/state
SlurmdSpoolDir=$TMP/slurm/spool
SlurmctldPidFile=$TMP/run/slurmctld.pid
SlurmdPidFile=$TMP/run/slurmd.pid
SlurmctldLogFile=$TMP/slurm/slurmctld.log
SlurmdLogFile=$TMP/slurm/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=30
MinJobAge=600
NodeName=wnode NodeAddr=127.0.0.1 NodeHostname=$host CPUs=16 State=UNKNOWN
PartitionName=test Nodes=wnode Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$TMP/slurm.conf
}

# start_slurm: munged, slurmctld and slurmd in the foreground (so their
# PIDs are the daemons'), then waits (30 s at most) for the node to be idle.
start_slurm() {
  start_munge
  write_slurm_conf
  slurmctld -D -i -f "$SLURM_CONF" 2>>"$TMP/slurm/slurmctld.err" &
  PIDS+=($!)
  slurmd -D -N wnode -f "$SLURM_CONF" 2>>"$TMP/slurm/slurmd.err" &
  PIDS+=($!)
  SLURM_UP=1
  local i
  for i in $(seq 1 300); do
    [ "$(sinfo -h -n wnode -o %t 2>/dev/null)" = idle ] && return 0
    sleep 0.1
  done
  fail "the Slurm node did not come up: $(sinfo 2>&1; tail -n 20 "$TMP/slurm/slurmctld.log" \
    "$TMP/slurm/slurmd.log" "$TMP/slurm/"*.err 2>&1)"
}

# Before the daemons are killed (pool_common's cleanup), every job still
# queued or running is cancelled and waited for: a job's slurmstepd outlives
# slurmd, so it must end while slurmd can still end it.
cleanup_slurm() {
  if [ -n "${SLURM_UP:-}" ] && [ -n "$(squeue -h -o %A 2>/dev/null)" ]; then
    scancel --user="$(id -un)" 2>/dev/null || true
    local i
    for i in $(seq 1 400); do
      [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  cleanup_pool
}
trap cleanup_slurm EXIT

# sbatch_wrun SBATCH-ARGS...: submits $SCRIPT as an array (--array=0 when
# none is given) with its output in $TMP/job-JOB_TASK.out; prints the job id.
sbatch_wrun() {
  local array=--array=0 a
  for a in "$@"; do case $a in --array=*) array= ;; esac; done
  sbatch --parsable $array --chdir="$TMP" --output="$TMP/job-%A_%a.out" "$@" "$SCRIPT" |
    cut -d';' -f1
}

# wait_job_workers JOB N: waits (60 s at most: each wrun measures its
# machine first) until N workers of array job JOB are connected; the
# script names them HOST-JOB-TASK.
wait_job_workers() {
  local n i
  for i in $(seq 1 600); do
    n=$(wpool workers --json | jq --arg j "-$1-" '[.[] | select(.connected and (.name | contains($j)))] | length')
    [ "$n" = "$2" ] && return 0
    sleep 0.1
  done
  fail "$n of job $1's $2 workers connected: $(squeue 2>&1; cat "$TMP"/job-"$1"_*.out)"
}

# wait_job_end JOB SECONDS: waits until no task of JOB is queued or running.
wait_job_end() {
  local i
  for i in $(seq 1 $(($2 > 0 ? $2 * 10 : 1))); do
    [ -z "$(squeue -h -j "$1" -o %A 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  fail "job $1 still there after $2 s: $(squeue -j "$1" 2>&1; cat "$TMP"/job-"$1"_*.out)"
}

# job_state JOB: the Slurm state of the array's task 0 (COMPLETED, TIMEOUT,
# CANCELLED, ...), kept by slurmctld for MinJobAge after it ended.
job_state() {
  scontrol show job "$1_0" -o | grep -o 'JobState=[A-Z_]*' | cut -d= -f2
}
