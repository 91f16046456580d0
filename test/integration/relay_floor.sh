# bench/relay_floor, bench/wsig.sh's floor, passes for wsig with the real
# load generator (every OFFER arrives, at two frame sizes), then relays node
# `ws` clients' frames intact (wsig/floor.test.js): a floor that dropped or
# mangled messages would make wsig's ratio to it meaningless.
. "$(dirname "$0")/wsig/env.sh"
: "${W_BUILD:?W_BUILD must point at the build directory}"
FLOOR=$W_BUILD/bench/relay_floor
LOAD=$W_BUILD/bench/wsig_load
tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$FLOOR" --port 0 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/err" && break; sleep 0.05; done
port=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' "$tmp/err")
[ -n "$port" ] || fail "relay_floor did not start: $(cat "$tmp/err")"

for size in 300 3000; do
  out=$(timeout 60 "$LOAD" --port "$port" --peers 40 --rate 4000 --seconds 1 --size "$size" \
    --server-pid "$pid") || fail "wsig_load --size $size failed"
  sent=$(sed -E 's/.*"sent":([0-9]+).*/\1/' <<<"$out")
  received=$(sed -E 's/.*"received":([0-9]+).*/\1/' <<<"$out")
  [ "$sent" -gt 1000 ] && [ "$received" = "$sent" ] ||
    fail "wsig_load --size $size through the floor: $out"
  echo "ok: wsig_load --size $size: $sent sent, $received received"
done
kill "$pid"
wait "$pid" || fail "relay_floor exited $? on SIGTERM"
pid=""

run_node floor.test.js 120
