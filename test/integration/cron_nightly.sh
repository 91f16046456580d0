# examples/cron/nightly.sh against a real pool and worker: run twice the
# same day it submits once, and writes the results file whole both times;
# MAILTO with a mail(1) on PATH mails the results.
. "$(dirname "$0")/pool_common.sh"
SECRET=$TMP/pool.secret
POOL_ARGS="--secret $SECRET"
start_pool
start_worker night -j 2 --cap "$(wpool cap --secret "$SECRET" --rights work)"
export W_CAP=$(wpool cap --secret "$SECRET" --rights submit)
export NIGHTLY_KERNEL=$W_KERNELS/echo.so NIGHTLY_GEN="wgen range 0 200 --step 1"
export NIGHTLY_DIR=$TMP/results NIGHTLY_DAY=2026-12-02 NIGHTLY_TIMEOUT=60s
# A mail(1) stand-in that records what it was asked to send.
mkdir "$TMP/bin"
printf '#!/bin/sh\necho "$@" >"%s/mail.args"\ncat >"%s/mail.body"\n' "$TMP" "$TMP" >"$TMP/bin/mail"
chmod +x "$TMP/bin/mail"
file=$TMP/results/nightly-2026-12-02.jsonl
run sh "$W_SRC/examples/cron/nightly.sh"
expect_rc 0
[ "$(wc -l <"$file")" = 200 ] || fail "first run: $(wc -l <"$file") results"
cp "$file" "$TMP/first"
PATH=$TMP/bin:$PATH MAILTO=ops@example.org run sh "$W_SRC/examples/cron/nightly.sh"
expect_rc 0
expect_err "once-key '2026-12-02' was submitted before; nothing added"
[ "$(wc -l <"$file")" = 200 ] || fail "second run: $(wc -l <"$file") results"
cmp -s "$file" "$TMP/first" || fail "the second run changed the results"
[ "$(jq -s '[.[].seq] | unique | length' "$file")" = 200 ] || fail "duplicate or missing seqs"
jq -se 'all(.[]; .output == .input) and (map(.input.min) | sort == [range(0; 200)])' "$file" >/dev/null ||
  fail "results are not the inputs echoed: $(head -3 "$file")"
wpool status nightly-2026-12-02 --json | jq -e '.campaigns[0] | .total == 200 and .done == 200' >/dev/null ||
  fail "campaign: $(wpool status nightly-2026-12-02 --json)"
grep -q '^-s wkit: nightly-2026-12-02 ok (200 results) ops@example.org$' "$TMP/mail.args" ||
  fail "mail args: $(cat "$TMP/mail.args" 2>/dev/null)"
cmp -s "$TMP/mail.body" "$file" || fail "the mail is not the results"
[ ! -e "$file.tmp" ] || fail "temporary file left behind"
