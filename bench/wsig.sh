#!/usr/bin/env bash
# wsig against the stock PeerJS server (npm `peer`), same load generator
# (bench/wsig_load.cc), one run, figures side by side:
#   1. memory: RSS per connected peer at $PEERS peers
#   2. relay: the highest rate of ~300-byte OFFERs between $RELAY_PEERS
#      peers at which nothing is lost and p99 latency stays under 50 ms,
#      and the server's CPU time per message at that rate.
#   3. floor: the same ladder against bench/relay_floor, the least a PeerJS
#      relay can do: one epoll thread that answers the upgrade and OPEN,
#      unmasks each frame, finds its "dst" by a plain search and writes it
#      to that peer (no JSON parser, no limits, no queues but the unsent
#      rest of a write). Its CPU per message is about what the kernel's TCP
#      receive and send cost, so wsig's ratio to it is wsig's own overhead
#      (issue 18's target: <= 1.5x). wsig, PeerJS and the floor are compared
#      at the highest rate all three passed, in $SAME_ROUNDS interleaved
#      rounds of $SAME_SECONDS s.
# Server and generator are pinned to different cores when there are two.
# Usage: bench/wsig.sh [BUILD_DIR]
set -euo pipefail
B=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-10000}
RELAY_PEERS=${RELAY_PEERS:-1000}
SECONDS_PER_RATE=${SECONDS_PER_RATE:-2}
SAME_ROUNDS=${SAME_ROUNDS:-3}    # runs of each server at the common rate
SAME_SECONDS=${SAME_SECONDS:-4}  # seconds each
RATES=${RATES:-"5000 10000 20000 40000 80000 120000 160000 240000 320000"}
WSIG=$B/bin/wsig
LOAD=${WSIG_LOAD:-$B/bench/wsig_load}
FLOOR=$B/bench/relay_floor
PEERJS=$SRC/test/node/node_modules/peer/dist/bin/peerjs.js
for f in "$WSIG" "$LOAD" "$FLOOR"; do [ -x "$f" ] || { echo "bench/wsig.sh: build $f first" >&2; exit 1; }; done
[ -f "$PEERJS" ] || { echo "bench/wsig.sh: run 'npm ci --prefix test/node' first" >&2; exit 1; }
need=$((PEERS + 100))
[ "$(ulimit -n)" -ge "$need" ] || ulimit -n "$need" 2>/dev/null ||
  { echo "bench/wsig.sh: needs ulimit -n >= $need (have $(ulimit -n))" >&2; exit 1; }

if [ "$(nproc)" -ge 2 ]; then SERVER_CPU="taskset -c 0"; LOAD_CPU="taskset -c 1"; else SERVER_CPU=""; LOAD_CPU=""; fi
tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
wait_port() { # wait until something listens on 127.0.0.1:$1
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench/wsig.sh: nothing listens on port $1" >&2
  exit 1
}

# start NAME: starts a server on a fresh port; sets server_pid and port.
start() {
  port=$(free_port)
  if [ "$1" = wsig ]; then
    $SERVER_CPU "$WSIG" --host 127.0.0.1 --port "$port" --concurrent-limit 1000000 -q 2>"$tmp/server.err" &
  elif [ "$1" = floor ]; then
    $SERVER_CPU "$FLOOR" --host 127.0.0.1 --port "$port" 2>"$tmp/server.err" &
  else
    $SERVER_CPU node "$PEERJS" --host 127.0.0.1 --port "$port" --concurrent_limit 1000000 >/dev/null 2>"$tmp/server.err" &
  fi
  server_pid=$!
  wait_port "$port"
  sleep 1
}
stop() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

# memory NAME: prints KiB of RSS per connected peer.
memory() {
  start "$1"
  local base
  base=$(rss_kb "$server_pid")
  $LOAD_CPU "$LOAD" --port "$port" --peers "$PEERS" --hold 8 2>"$tmp/load.err" &
  local load=$!
  for _ in $(seq 600); do grep -q connected "$tmp/load.err" && break; sleep 0.1; done
  sleep 3
  local full
  full=$(rss_kb "$server_pid")
  wait "$load"
  stop
  echo "scale=2; ($full - $base) / $PEERS" | bc -l
}

# relay NAME: climbs the rate ladder; prints "rate cpu_us p99_ms" for the
# highest rate that passed (nothing lost, p99 < 50 ms), and keeps that line
# for every rate that passed in $tmp/ladder.NAME.
relay() {
  start "$1"
  local best="0 - -" r out
  for r in $RATES; do
    out=$($LOAD_CPU "$LOAD" --port "$port" --peers "$RELAY_PEERS" --rate "$r" \
      --seconds "$SECONDS_PER_RATE" --server-pid "$server_pid" 2>/dev/null) || break
    echo "  $1 $out" >&2
    local lost p99 cpu
    lost=$(sed -E 's/.*"lost":([0-9]+).*/\1/' <<<"$out")
    p99=$(sed -E 's/.*"p99_ms":([0-9.]+).*/\1/' <<<"$out")
    cpu=$(sed -E 's/.*"cpu_us_per_msg":([0-9.]+).*/\1/' <<<"$out")
    if [ "$lost" != 0 ] || [ "$(echo "$p99 >= 50" | bc -l)" = 1 ]; then break; fi
    best="$r $cpu $p99"
    echo "$best" >>"$tmp/ladder.$1"
  done
  stop
  echo "$best"
}

echo "memory: $PEERS peers connected (KiB of server RSS per peer)" >&2
mem_w=$(memory wsig)
mem_p=$(memory peerjs)
echo "relay: $RELAY_PEERS peers in pairs, ${SECONDS_PER_RATE}s per rate" >&2
read -r rate_w cpu_w p99_w <<<"$(relay wsig)"
# The floor right after wsig: the host's speed drifts over minutes, and
# their ratio is the figure that matters.
read -r rate_f _ _ <<<"$(relay floor)"
read -r rate_p cpu_p p99_p <<<"$(relay peerjs)"
# The highest rate all three passed; there, rounds of one run each, in
# turn, so a drift of the host's speed hits the three alike. CPU per
# message is the rounds' CPU over their messages (runs that lost some are
# left out): a run's CPU is counted in 10 ms clock ticks.
# When PeerJS passed no rate (a loaded machine), wsig and the floor alone.
highest() { # highest NAME...: the highest rate all of them passed, or -
  local r n best=-
  for r in $RATES; do
    for n in "$@"; do grep -q "^$r " "$tmp/ladder.$n" 2>/dev/null || continue 2; done
    best=$r
  done
  echo "$best"
}
same=(wsig floor peerjs)
common=$(highest "${same[@]}")
[ "$common" != - ] || { same=(wsig floor); common=$(highest "${same[@]}"); }
declare -A cpu_s=() msgs=()
if [ "$common" != - ]; then
  echo "same rate: $common/s, $SAME_ROUNDS rounds of ${SAME_SECONDS}s each" >&2
  for _ in $(seq "$SAME_ROUNDS"); do
    for n in "${same[@]}"; do
      start "$n"
      out=$($LOAD_CPU "$LOAD" --port "$port" --peers "$RELAY_PEERS" --rate "$common" \
        --seconds "$SAME_SECONDS" --server-pid "$server_pid" 2>/dev/null) || out=""
      stop
      echo "  $n $out" >&2
      [ -n "$out" ] && [ "$(sed -E 's/.*"lost":([0-9]+).*/\1/' <<<"$out")" = 0 ] || continue
      cpu_s[$n]=$(echo "${cpu_s[$n]:-0} + $(sed -E 's/.*"server_cpu_s":([0-9.]+).*/\1/' <<<"$out")" | bc -l)
      msgs[$n]=$((${msgs[$n]:-0} + $(sed -E 's/.*"sent":([0-9]+).*/\1/' <<<"$out")))
    done
  done
fi
cpu_at() { if [ -n "${msgs[$1]:-}" ]; then printf '%.2f' "$(echo "${cpu_s[$1]} * 1000000 / ${msgs[$1]}" | bc -l)"; else echo -; fi; }
same_w=$(cpu_at wsig) same_p=$(cpu_at peerjs) same_f=$(cpu_at floor)

# ratio A B [DIGITS]: A/B, or - when either is missing.
ratio() { if [ "$2" = - ] || [ "$1" = - ] || [ "$(echo "$2 == 0" | bc -l)" = 1 ]; then echo -; else printf "%.${3:-1}f" "$(echo "$1 / $2" | bc -l)"; fi; }
f='%-52s %10s %10s %7s %s\n'
printf "$f" "figure" "wsig" "PeerJS" "ratio" "target"
printf "$f" "RSS per peer at $PEERS peers (KiB, lower is better)" "$mem_w" "$mem_p" "$(ratio "$mem_p" "$mem_w")" "<= 3 KiB"
printf "$f" "OFFERs/s, no loss, p99 < 50 ms ($RELAY_PEERS peers)" "$rate_w" "$rate_p" "$(ratio "$rate_w" "$rate_p")" ">= 10x"
printf "$f" "  p99 latency at that rate (ms)" "$p99_w" "$p99_p" "-" "< 50 ms"
printf "$f" "server CPU per message at that rate (us)" "$cpu_w" "$cpu_p" "$(ratio "$cpu_p" "$cpu_w")" ">= 10x less"
# The floor's row: its figure in the label, the ratio wsig/floor.
printf "$f" "CPU/msg at $common/s (us); floor $same_f (best $rate_f/s)" "$same_w" "$same_p" "$(ratio "$same_w" "$same_f" 2)" "wsig <= 1.5x floor"
