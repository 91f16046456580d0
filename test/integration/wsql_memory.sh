#!/usr/bin/env bash
# Tiny requests once bought huge memory from a read capability:
# - a 126-byte msgpack request whose parameter nests maps as map keys
#   (msgpack -> JSON escaped each level again: the text doubled per level);
# - SELECT zeroblob(250000000) x 8 (the result cap was checked only after a
#   whole row was packed: 2 GB per row);
# - statements of the largest size SQL allows, each different, from a
#   read-only client (every compiled statement was cached: 256 of them, GBs).
# Each is now refused or bounded, and the server's resident memory stays
# small (its peak, VmHWM, is checked). SQLite itself builds a row's values
# before wsql sees them (a zeroblob is made whole when copied), so what
# bounds a row is the length of one value (64 MiB) and --max-memory, here
# 256 MiB; wsql then checks each value's size before packing it.
source "$(dirname "$0")/wsql_common.sh"
# Under ASan freed memory is held in a quarantine (256 MB by default); keep
# it small so the resident size says what the server holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16:malloc_context_size=5"
# POST /rpc may hold the server 30 s here (not 1 s): on a loaded machine the
# zeroblob requests can take longer than 1 s, and this test is about memory.
start_server --max-memory 268435456 --http-timeout 30s
ALL=$(mint all)
READ=$(mint read runs)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER_PID/status"; }
limit_mb=${W_SANITIZE:+700}
limit_mb=${limit_mb:-400}
check_peak() {
  local peak
  peak=$(kb VmHWM)
  [ "$peak" -lt $((limit_mb * 1024)) ] || fail "$1: the server's peak resident size is $((peak / 1024)) MB"
}

# 1. The key bomb: 126 bytes, 48 levels of maps used as keys.
python3 - "$TMP/bomb.mp" <<'PY'
import sys
x = b"\x00"
for _ in range(48):
    x = b"\x81" + x + b"\x00"
req = b"\x83\xa2op\xa3sql\xa3sql\xa8SELECT ?\xa6params\x91" + x
assert len(req) == 126, len(req)
open(sys.argv[1], "wb").write(req)
PY
curl -s -m 30 -X POST "$HTTP/rpc?cap=$READ&db=runs" --data-binary @"$TMP/bomb.mp" -o "$TMP/bomb.ans" ||
  fail "no answer to the 126-byte request"
[ -s "$TMP/bomb.ans" ] || fail "an empty answer to the 126-byte request"
server_alive
check_peak "the 126-byte request"

# 2. zeroblob rows: refused before any value is built, over the length
# limit or under it.
t0=$(date +%s%N)
z8=$(printf 'zeroblob(250000000), %.0s' $(seq 7))
answer=$(rpc "{\"op\":\"sql\",\"sql\":\"SELECT ${z8}zeroblob(250000000)\"}" "$READ" runs)
[ "$(jq -r .error.code <<<"$answer")" = too_big ] || fail "8 x 250 MB zeroblobs: $(head -c 300 <<<"$answer")"
z8=$(printf 'zeroblob(60000000), %.0s' $(seq 7))
answer=$(rpc "{\"op\":\"sql\",\"sql\":\"SELECT ${z8}zeroblob(60000000)\"}" "$READ" runs)
[ "$(jq -r .error.code <<<"$answer")" = too_big ] || fail "8 x 60 MB zeroblobs: $(head -c 300 <<<"$answer")"
answer=$(rpc '{"op":"sql","sql":"WITH v(n) AS (VALUES (20000000), (20000000)) SELECT zeroblob(n) FROM v"}' "$READ" runs)
[ "$(jq -r .error.code <<<"$answer")" = too_big ] || fail "2 rows of 20 MB: $(head -c 300 <<<"$answer")"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 10000 ] || fail "the zeroblob requests took $ms ms"
server_alive
check_peak "zeroblob rows"
# A result under the cap still comes back, also inside a batch, where the
# cap is for the whole answer.
rpc '{"op":"sql","sql":"SELECT length(zeroblob(1000)) AS n"}' "$READ" runs | jq -e '.rows == [[1000]]' >/dev/null ||
  fail "a small result"
rpc '[{"op":"sql","sql":"SELECT zeroblob(9000000)"},{"op":"sql","sql":"SELECT zeroblob(9000000)"}]' "$READ" runs |
  jq -e '.[0].rows and .[1].error.code == "too_big"' >/dev/null || fail "two 9 MB answers in one batch passed 16 MiB"

# 3. The statement cache: 250 different statements of ~120 KB each (the
# compiled form of each is ~2.5 MB) from one read-only connection.
python3 - "$TMP/big.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for k in range(250):
        sql = "SELECT ? IN (" + ",".join(str(k * 100000 + i) for i in range(13000)) + ")"
        f.write(json.dumps({"id": k, "op": "sql", "sql": sql, "params": [k * 100000]}) + "\n")
PY
before=$(kb VmRSS)
timeout 300 python3 "$W_SRC/test/integration/wsql_ws.py" --timeout 120 "$WS/runs?cap=$READ" @"$TMP/big.jsonl" >"$TMP/big.out" ||
  fail "the big statements: $(tail -2 "$TMP/big.out")"
[ "$(grep -c '"rows":\[\[1\]\]' "$TMP/big.out")" = 250 ] || fail "big statements answered: $(head -c 300 "$TMP/big.out")"
after=$(kb VmRSS)
grown=$(((after - before) / 1024))
[ "$grown" -lt 200 ] || fail "250 cached statements grew the server by $grown MB"
server_alive
check_peak "big statements"
echo "ok: grown $grown MB over the big statements, peak $(($(kb VmHWM) / 1024)) MB"
