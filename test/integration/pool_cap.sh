# A pool started with --secret checks capabilities: a worker needs 'work',
# a client 'submit' to create, append to and read campaigns and 'admin' to
# control them; a capability scoped to a campaign touches nothing else;
# forged, foreign and expired ones are refused with exit 77; the LAN key
# still has every right.
. "$(dirname "$0")/pool_common.sh"
SECRET=$TMP/pool.secret
POOL_ARGS="--secret $SECRET --key a-lan-key-of-some-length"
start_pool
[ "$(stat -c %a "$SECRET")" = 600 ] || fail "secret file mode $(stat -c %a "$SECRET")"
mint() { wpool cap --secret "$SECRET" "$@"; }
WORK=$(mint --rights work)
SUBMIT=$(mint --rights submit)
ADMIN=$(mint --rights admin)
ALL=$(mint --rights all)
NIGHTLY=$(mint --rights submit --campaign nightly)
NIGHTLY_WORK=$(mint --rights work --campaign nightly)
echo "$WORK" | grep -qE '^w1:wpool:\*:1:0:[A-Za-z0-9_-]{43}$' || fail "format: $WORK"
echo "$ALL" | grep -q '^w1:wpool:\*:7:0:' || fail "all rights: $ALL"
datasets 20 >"$TMP/in"
KERNEL=$W_KERNELS/echo.so

# No capability at all, and a key that is not the pool's.
run wpool status
expect_rc 77
expect_err "wpool: error: denied: no valid capability (use --cap CAP or W_CAP)"
run wpool status --key not-the-key
expect_rc 77
expect_err "denied: no valid capability"

# A client with 'work' cannot submit; 'submit' can, and may upload its kernel.
run wpool submit sq --kernel "$KERNEL" --cap "$WORK" <"$TMP/in"
expect_rc 77
expect_err "wpool: error: denied: this capability lacks the 'submit' right on campaign 'sq'"
run wpool submit sq --kernel "$KERNEL" --cap "$SUBMIT" <"$TMP/in"
expect_rc 0
W_CAP=$NIGHTLY run wpool submit nightly --kernel "$KERNEL" <"$TMP/in"
expect_rc 0

# A scoped submit capability cannot touch another campaign, nor see it.
run wpool submit sq --cap "$NIGHTLY" <"$TMP/in"
expect_rc 77
expect_err "denied: the capability is for campaign 'nightly', not 'sq'"
run wpool results sq --cap "$NIGHTLY"
expect_rc 77
run wpool status sq --cap "$NIGHTLY"
expect_rc 77
wpool status --json --cap "$NIGHTLY" >"$TMP/s.json"
jq -e '[.campaigns[].name] == ["nightly"]' "$TMP/s.json" >/dev/null || fail "scoped status: $(cat "$TMP/s.json")"

# Workers: a submit-only capability, a forged one (one character changed)
# and one minted with another secret are refused; the pool lives on.
run timeout 10 wrun "$POOL" --cap "$SUBMIT" -j 1 --cache "$TMP/c"
expect_rc 77
expect_err "wrun: error: denied: this capability lacks the 'work' right"
last=${WORK: -1}
FORGED=${WORK%?}$([ "$last" = A ] && echo B || echo A)
run timeout 10 wrun "$POOL" --cap "$FORGED" -j 1 --cache "$TMP/c"
expect_rc 77
expect_err "denied: capability check failed (forged, altered, or for another server)"
wpool secret new "$TMP/other.secret"
OTHER=$(wpool cap --secret "$TMP/other.secret" --rights all)
run timeout 10 wrun "$POOL" --cap "$OTHER" -j 1 --cache "$TMP/c"
expect_rc 77
expect_err "capability check failed"
run wpool status --cap "$OTHER"
expect_rc 77
expect_err "capability check failed"
WSQL=$(wsql cap --secret "$SECRET" --rights all)
run wpool status --cap "$WSQL"
expect_rc 77
expect_err "denied: the capability is for service 'wsql', not wpool"
SHORT=$(mint --rights submit --expires 1s)
sleep 1.1
run wpool status --cap "$SHORT"
expect_rc 77
expect_err "capability expired"

# A worker whose capability is scoped to 'nightly' gets only its tasks;
# then one with 'work' on every campaign does the rest.
start_worker scoped -j 2 --cap "$NIGHTLY_WORK"
run timeout 30 wpool wait nightly --cap "$NIGHTLY"
expect_rc 0
wpool status --json --cap "$SUBMIT" >"$TMP/s.json"
jq -e '.campaigns[] | select(.name == "sq") | .done == 0' "$TMP/s.json" >/dev/null ||
  fail "the scoped worker ran another campaign: $(cat "$TMP/s.json")"
start_worker all -j 2 --cap "$WORK"
run timeout 30 wpool wait sq --cap "$SUBMIT"
expect_rc 0
all_id=$(worker_id all --cap "$SUBMIT")
[ "$(wpool results sq --cap "$SUBMIT" | jq -r .worker | sort -u | grep -cxF "$all_id")" = 1 ] ||
  fail "sq's results should all come from worker 'all'"
[ "$(wpool results sq --cap "$SUBMIT" | wc -l)" = 20 ] || fail "sq has $(wpool results sq --cap "$SUBMIT" | wc -l) results"

# Admin verbs and bare kernel uploads need 'admin'.
run wpool pause nightly --cap "$SUBMIT"
expect_rc 77
expect_err "wpool: error: denied: this capability lacks the 'admin' right on campaign 'nightly'"
run wpool kernel add "$KERNEL" --cap "$SUBMIT"
expect_rc 77
expect_err "lacks the 'admin' right"
run wpool kernel add "$KERNEL" --cap "$ADMIN"
expect_rc 0
run wpool pause nightly --cap "$ADMIN"
expect_rc 0
# Whoever pauses a campaign may see it: 'admin' reads what 'submit' reads
# (status, results, workers, kernels; the dashboard's /api/status too).
run wpool status nightly --cap "$ADMIN" --json
expect_rc 0
jq -e '.campaigns[0].name == "nightly"' "$TMP/out" >/dev/null || fail "admin's status: $(cat "$TMP/out")"
for verb in "results nightly" workers "kernel list"; do
  run wpool $verb --cap "$ADMIN"
  expect_rc 0
done
run curl -sf "http://127.0.0.1:$PORT/api/status?cap=$ADMIN"
expect_rc 0
run wpool delete sq --cap "$(mint --rights admin --campaign nightly)"
expect_rc 77
expect_err "the capability is for campaign 'nightly', not 'sq'"
run wpool delete sq --cap "$ALL"
expect_rc 0

# The LAN key has every right; the JSON status over HTTP wants ?cap= too.
run wpool resume nightly --key a-lan-key-of-some-length
expect_rc 0
code=$(curl -s -o "$TMP/http" -w '%{http_code}' "http://127.0.0.1:$PORT/api/status")
[ "$code" = 403 ] || fail "/api/status without a capability: $code"
curl -sf "http://127.0.0.1:$PORT/api/status?cap=$SUBMIT" | jq -e '.campaigns[0].name == "nightly"' >/dev/null ||
  fail "/api/status with a capability"
run wpool status --cap "$ALL"
expect_rc 0
