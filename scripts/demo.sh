#!/usr/bin/env bash
# `make run`: a real demo campaign on the embedded defaults. Starts a local
# pool on a SQLite file and two native workers, submits the divisible and
# primes campaigns, prints their results, and stops everything it started.
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
cd "$(dirname "$0")/.."
export PATH="$B/bin:$PATH"
work=$(mktemp -d)
pids=()
stop_all() {
  # Workers first (SIGTERM drains them), then the pool (it commits and exits).
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop_all EXIT

echo "== a pool on $work/pool.db, two workers"
wpool serve --db "$work/pool.db" --listen 127.0.0.1:0 2>"$work/pool.log" &
pids+=($!)
for _ in $(seq 1 100); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/pool.log" | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/pool.log" >&2; exit 1; }
export W_POOL=ws://127.0.0.1:$port
for name in worker-1 worker-2; do
  wrun "$W_POOL" -j 1 --name "$name" --cache "$work/cache" -q &
  pids+=($!)
done

echo "== divisible: numbers below 10000 divisible by 123 (the Distribute.js tutorial)"
echo "   wgen range 0 10000 --step 100 | wpool submit divisible -k divisible.so --static '{\"divisor\":123}'"
wgen range 0 10000 --step 100 | wpool submit divisible -k "$B/kernels/divisible.so" --static '{"divisor":123}' -q
wpool wait divisible -q
multiples=$(wpool results divisible | jq -c '.output[]' | sort -n | tr '\n' ' ')
echo "   $(wc -w <<<"$multiples") multiples: $(cut -c1-60 <<<"$multiples")..."

echo "== primes: how many primes below 2,000,000 (the Distribute.js benchmark)"
echo "   wgen range 0 2e6 --step 2e4 | wpool submit primes -k primes.so"
wgen range 0 2e6 --step 2e4 | wpool submit primes -k "$B/kernels/primes.so" -q
wpool wait primes -q
echo "   $(wpool results primes | jq -s 'map(.output.count) | add') primes"

echo "== the pool's view"
wpool status
wpool workers
echo "== stopping: workers drain, the pool commits and exits"
