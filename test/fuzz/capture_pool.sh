#!/usr/bin/env bash
# Seeds the pool fuzz corpora (test/fuzz/corpus/pool_worker, pool_client)
# with real traffic: a pool, real wrun workers and wpool clients talk
# through capture_pool.py, which records every message in both directions,
# while a few small campaigns exercise every message type (results and
# errors, checkpoints, replicas, a coupled campaign, a drain, control).
#
# Usage: test/fuzz/capture_pool.sh [BUILD_DIR]   (default: build)
# Rewrites the two corpus directories; commit what changed.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
BIN=$BUILD/bin
K=$BUILD/kernels
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$BIN/wpool" serve --db "$TMP/pool.db" --listen 127.0.0.1:0 --heartbeat 200ms 2>"$TMP/pool.log" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q 'listening on' "$TMP/pool.log" && break; sleep 0.05; done
POOL_PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/pool.log" | cut -d: -f2)
PROXY_PORT=$(free_port)
/usr/bin/python3 "$SRC/test/fuzz/capture_pool.py" "$PROXY_PORT" "$POOL_PORT" "$TMP/cap" &
PIDS+=($!)
sleep 0.5
export W_POOL=ws://127.0.0.1:$PROXY_PORT
worker() { "$BIN/wrun" "$W_POOL" --name "$1" --cache "$TMP/cache-$1" "${@:2}" 2>>"$TMP/worker.log" & PIDS+=($!); }
data() { seq 0 $(($1 - 1)) | sed 's/.*/{"x":&}/'; }

worker a -j 2
worker b -j 1
# Results, a static dataset, errors.
data 40 | "$BIN/wpool" submit echo --kernel "$K/echo.so" --static '{"k":[1,2.5,"s"]}' -q
"$BIN/wpool" wait echo --timeout 30s
printf '{"crash":1}\n{"x":2}\n' | "$BIN/wpool" submit crash --kernel "$K/crash.so" --max-attempts 1 -q
"$BIN/wpool" wait crash --timeout 30s || true
# Replicas.
data 6 | "$BIN/wpool" submit twice --kernel "$K/echo.so" --replicas 2 -q
"$BIN/wpool" wait twice --timeout 30s
# Checkpoints: the one worker is killed while its task has saved some
# steps; the next one resumes it (a task item with checkpoint).
kill -9 "${PIDS[2]}" "${PIDS[3]}"
worker s -j 1
echo '{"steps":40}' | "$BIN/wpool" submit steps --kernel "$K/steps.so" -q
sleep 0.8
kill -9 "${PIDS[4]}"
worker b -j 1
worker c -j 1
"$BIN/wpool" wait steps --timeout 60s
# A coupled campaign (members with group, rank and size) on a worker that
# runs both members.
worker e -j 2
echo '{"x":1}' | "$BIN/wpool" submit coupled --kernel "$K/group_probe.so" --group 2 -q
"$BIN/wpool" wait coupled --timeout 20s || true
# A run that cannot finish: its deadline passes, the pool aborts it (abort).
echo '{"loop":1}' | "$BIN/wpool" submit stuck --kernel "$K/loop.so" --group 2 --timeout 1s \
  --max-attempts 1 -q
"$BIN/wpool" wait stuck --timeout 20s || true
# A drain: SIGTERM while tasks wait (bye with returned ids).
data 200 | "$BIN/wpool" submit slow --kernel "$K/busy10ms.so" -q
sleep 0.3
kill -TERM "${PIDS[5]}" "${PIDS[6]}" "${PIDS[7]}" 2>/dev/null || true
sleep 1
worker d -j 1
"$BIN/wpool" wait slow --timeout 60s
# Every client request.
"$BIN/wpool" status >/dev/null
"$BIN/wpool" workers >/dev/null
"$BIN/wpool" results echo >/dev/null
"$BIN/wpool" kernel list >/dev/null
"$BIN/wpool" kernel add "$K/noop.so" >/dev/null
"$BIN/wpool" pause echo && "$BIN/wpool" resume echo && "$BIN/wpool" cancel crash
"$BIN/wpool" delete twice
"$BIN/wpool" status nope >/dev/null 2>&1 || true
"$BIN/wpool" results nope >/dev/null 2>&1 || true
"$BIN/wpool" cancel nope >/dev/null 2>&1 || true
# A refused worker (error): a second pool with a key, through a second relay.
"$BIN/wpool" serve --db "$TMP/keyed.db" --listen 127.0.0.1:0 --key right 2>"$TMP/keyed.log" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q 'listening on' "$TMP/keyed.log" && break; sleep 0.05; done
KEYED_PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/keyed.log" | cut -d: -f2)
PROXY2_PORT=$(free_port)
/usr/bin/python3 "$SRC/test/fuzz/capture_pool.py" "$PROXY2_PORT" "$KEYED_PORT" "$TMP/cap" &
PIDS+=($!)
sleep 0.5
"$BIN/wrun" "ws://127.0.0.1:$PROXY2_PORT" --key wrong --cache "$TMP/cache-k" 2>/dev/null || true
W_POOL=ws://127.0.0.1:$PROXY2_PORT "$BIN/wpool" status --key wrong >/dev/null 2>&1 || true
sleep 0.5

# At most 3 messages per path, direction and type, the smallest first.
for path in worker client; do
  dest=$SRC/test/fuzz/corpus/pool_$path
  rm -rf "$dest"
  mkdir -p "$dest"
  for dir in up down; do
    [ -d "$TMP/cap/$path/$dir" ] || continue
    for kind in $(ls "$TMP/cap/$path/$dir" | sed 's/-[0-9a-f]*\.msgpack$//' | sort -u); do
      mapfile -t smallest < <(ls -S -r "$TMP/cap/$path/$dir/$kind"-*.msgpack)
      for f in "${smallest[@]:0:3}"; do cp "$f" "$dest/$dir-$(basename "$f")"; done
    done
  done
  echo "$dest: $(ls "$dest" | wc -l) messages, $(du -sh "$dest" | cut -f1)"
done
