# A capability scoped to one campaign sees that campaign and nothing else:
# not another campaign's workers (wpool workers, status, /api/status), its
# failures (/api/failures) or its kernels (kernel list, /kernels/, a
# worker's fetch); and only the 'admin' right sets a priority above 0.
. "$(dirname "$0")/pool_common.sh"
SECRET=$TMP/pool.secret
POOL_ARGS="--secret $SECRET"
start_pool
mint() { wpool cap --secret "$SECRET" "$@"; }
ALL=$(mint --rights all)
SUBMIT=$(mint --rights submit)
NIGHTLY=$(mint --rights submit --campaign nightly)
NIGHTLY_WORK=$(mint --rights work --campaign nightly)
OTHER_WORK=$(mint --rights work --campaign other)
datasets 20 >"$TMP/in"
seq 1 10 | sed 's/.*/{"crash":&}/' >"$TMP/crash"

# 'other' fails every task (its kernel crashes on them); 'nightly' succeeds.
run wpool submit other --kernel "$W_KERNELS/crash.so" --max-attempts 1 --cap "$ALL" <"$TMP/crash"
expect_rc 0
run wpool submit nightly --kernel "$W_KERNELS/echo.so" --cap "$NIGHTLY" <"$TMP/in"
expect_rc 0
start_worker wn -j 2 --cap "$NIGHTLY_WORK"
start_worker wo -j 2 --cap "$OTHER_WORK"
run timeout 60 wpool wait nightly --cap "$NIGHTLY"
expect_rc 0
run timeout 60 wpool wait other --cap "$ALL"
expect_rc 1
wait_workers_cap() {
  local i
  for i in $(seq 1 200); do
    [ "$(wpool workers --json --cap "$ALL" | jq '[.[] | select(.connected)] | length')" = 2 ] && return 0
    sleep 0.05
  done
  fail "workers did not connect"
}
wait_workers_cap
names() { jq -c '[.[].name] | sort'; }

# wpool workers: everyone for an unscoped capability, only the workers of
# its campaign for a scoped one.
[ "$(wpool workers --json --cap "$ALL" | names)" = '["wn","wo"]' ] || fail "unscoped workers"
got=$(wpool workers --json --cap "$NIGHTLY" | names)
[ "$got" = '["wn"]' ] || fail "a scoped capability sees the workers $got"

# wpool status and /api/status: its campaign and its workers only.
wpool status --json --cap "$NIGHTLY" >"$TMP/s.json"
jq -e '[.campaigns[].name] == ["nightly"] and ([.workers[].name] == ["wn"])' "$TMP/s.json" >/dev/null ||
  fail "scoped status: $(cat "$TMP/s.json")"
code=$(curl -s -o "$TMP/api.json" -w '%{http_code}' "http://127.0.0.1:$PORT/api/status?cap=$NIGHTLY")
[ "$code" = 200 ] || fail "/api/status with a scoped capability: HTTP $code"
jq -e '[.campaigns[].name] == ["nightly"] and ([.workers[].name] == ["wn"])' "$TMP/api.json" >/dev/null ||
  fail "scoped /api/status: $(cat "$TMP/api.json")"
curl -sf "http://127.0.0.1:$PORT/api/status?cap=$SUBMIT" |
  jq -e '([.campaigns[].name] | sort) == ["nightly","other"]' >/dev/null || fail "unscoped /api/status"

# /api/failures: the other campaign's failures are not its business.
curl -sf "http://127.0.0.1:$PORT/api/failures?cap=$SUBMIT" | jq -e '.failures | length == 10' >/dev/null ||
  fail "unscoped /api/failures"
code=$(curl -s -o "$TMP/f.json" -w '%{http_code}' "http://127.0.0.1:$PORT/api/failures?cap=$NIGHTLY")
[ "$code" = 200 ] || fail "/api/failures with a scoped capability: HTTP $code"
jq -e '.failures == []' "$TMP/f.json" >/dev/null || fail "scoped /api/failures: $(cat "$TMP/f.json")"

# Results of another campaign stay refused.
run wpool results other --cap "$NIGHTLY"
expect_rc 77

# Kernels: the list, the HTTP download and a worker's fetch.
echo_sha=$(sha256sum "$W_KERNELS/echo.so" | cut -c1-64)
crash_sha=$(sha256sum "$W_KERNELS/crash.so" | cut -c1-64)
wpool kernel list --cap "$SUBMIT" >"$TMP/k"
grep -q "$crash_sha" "$TMP/k" && grep -q "$echo_sha" "$TMP/k" || fail "unscoped kernel list: $(cat "$TMP/k")"
wpool kernel list --cap "$NIGHTLY" >"$TMP/k"
grep -q "$echo_sha" "$TMP/k" || fail "scoped kernel list lacks its kernel: $(cat "$TMP/k")"
! grep -q "$crash_sha" "$TMP/k" || fail "scoped kernel list shows another campaign's kernel"
http() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }
[ "$(http "/kernels/$crash_sha")" = 403 ] || fail "/kernels/ without a capability: $(http "/kernels/$crash_sha")"
[ "$(http "/kernels/$crash_sha?cap=$NIGHTLY")" = 403 ] || fail "/kernels/ of another campaign: $(http "/kernels/$crash_sha?cap=$NIGHTLY")"
[ "$(http "/kernels/$echo_sha.so?cap=$NIGHTLY")" = 200 ] || fail "/kernels/ of its campaign"
[ "$(http "/kernels/$crash_sha?cap=$SUBMIT")" = 200 ] || fail "/kernels/ with an unscoped capability"
PY=/usr/bin/python3
got=$($PY "$(dirname "$0")/pool_fetch_as.py" "$PORT" "$NIGHTLY_WORK" "$crash_sha")
case $got in "refused: "*"not for campaign"*) ;; *) fail "a scoped worker fetched another campaign's kernel: $got" ;; esac
got=$($PY "$(dirname "$0")/pool_fetch_as.py" "$PORT" "$NIGHTLY_WORK" "$echo_sha")
case $got in "artifact "*) ;; *) fail "a scoped worker could not fetch its kernel: $got" ;; esac

# Priority above the default (0) needs 'admin'; lower or equal does not.
run wpool submit nightly --priority 5 --cap "$NIGHTLY" <"$TMP/in"
expect_rc 77
expect_err "wpool: error: denied: a priority above 0 (5) needs the 'admin' right"
run wpool submit hi --kernel "$W_KERNELS/echo.so" --priority 9 --cap "$SUBMIT" <"$TMP/in"
expect_rc 77
expect_err "denied: a priority above 0 (9) needs the 'admin' right"
wpool status --json --cap "$ALL" | jq -e '[.campaigns[].name] | index("hi") == null' >/dev/null ||
  fail "a refused priority left a campaign behind"
run wpool submit low --kernel "$W_KERNELS/echo.so" --priority -3 --cap "$SUBMIT" <"$TMP/in"
expect_rc 0
run wpool submit hi --kernel "$W_KERNELS/echo.so" --priority 9 --cap "$ALL" <"$TMP/in"
expect_rc 0
wpool status hi --json --cap "$ALL" | jq -e '.campaigns[0].priority == 9' >/dev/null || fail "admin priority"
