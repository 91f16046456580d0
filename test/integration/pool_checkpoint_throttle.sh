# A kernel that checkpoints after every one of 30,000 tiny steps (tens of
# thousands per second) reaches the pool as at most one checkpoint per
# 100 ms: the worker keeps only the latest between sends.
. "$(dirname "$0")/pool_common.sh"
start_pool
start_worker fast -j 1
echo '{"steps":30000}' | wpool submit often --kernel "$W_KERNELS/steps_hpp.so" --timeout 60s >/dev/null
run timeout 60 wpool wait often
expect_rc 0
wpool results often >"$TMP/out.jsonl"
[ "$(jq -c .output "$TMP/out.jsonl")" = "[30000,0]" ] || fail "wrong result: $(cat "$TMP/out.jsonl")"
ms=$(jq -r '.ms | floor' "$TMP/out.jsonl")
stored=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '$1 == "wpool_checkpoints_total" { print $2 }')
# One per 100 ms of running, plus the first one sent at once.
most=$((ms / 100 + 2))
[ "$stored" -ge 1 ] || fail "no checkpoint reached the pool in $ms ms"
[ "$stored" -le "$most" ] || fail "$stored checkpoints in $ms ms: more than one per 100 ms"
echo "30000 checkpoints by the kernel in $ms ms; $stored reached the pool (at most $most)"
