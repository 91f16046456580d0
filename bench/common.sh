# shellcheck shell=bash
# bench/common.sh: what the bench scripts share. Source it once B (the
# build directory) is set:  . "$(dirname "$0")/common.sh"
# It gives the script:
#   work        a temporary directory, removed at exit
#   pids        the processes the script started (append to it); each is
#               stopped at exit, the last started first
#   at_exit     commands (strings) run at exit before the pids are stopped
#   stop_pids, listening_port, cores_free: below

work=$(mktemp -d)
pids=()
at_exit=()

stop_pids() { # stops everything started so far, the last started first (workers before their pool)
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  pids=()
}

bench_exit() {
  local c
  for c in "${at_exit[@]}"; do eval "$c" || true; done
  stop_pids
  rm -rf "$work"
}
trap bench_exit EXIT

# listening_port LOG: the port a wpool/wsql/wsig logged as "listening on
# 127.0.0.1:PORT" in LOG, waiting up to 10 s; fails with the log shown.
listening_port() {
  local port=
  for _ in $(seq 1 200); do
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$1" 2>/dev/null | tail -1 | cut -d: -f2 || true)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  echo "$(basename "$0"): error: the server did not start:" >&2
  cat "$1" >&2
  return 1
}

# cores_free: CPU seconds two parallel copies of the 10 ms loop got per
# wall second (2.00 on an idle 2-core machine): no speed-up beats it, and
# below ~1.9 the figures are noise.
cores_free() {
  local TIMEFORMAT='%R %U %S' t r u s
  t=$({ time { "$B/bench/busy_baseline" 100 >/dev/null & "$B/bench/busy_baseline" 100 >/dev/null; wait; }; } 2>&1)
  read -r r u s <<<"$t"
  echo "($u + $s) / $r" | bc -l | xargs printf '%.2f'
}
