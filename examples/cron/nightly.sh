#!/bin/sh
# A nightly campaign from cron: submits tonight's datasets once (running it
# again the same day adds nothing: --once-key), waits until every task is
# done, and writes the results to a dated file; mails them too when MAILTO
# is set and mail(1) exists. The pool URL and capability come from the
# environment (W_POOL, W_CAP) or wpool's --config file (W_CONFIG).
#
#   NIGHTLY_NAME     campaign prefix; the campaign is NAME-YYYY-MM-DD (nightly)
#   NIGHTLY_KERNEL   the kernel: a file, or a name looked up in W_KERNEL_PATH
#                    and the installed kernels (pi.so)
#   NIGHTLY_GEN      the wgen command line of the datasets (wgen seeds 1000)
#   NIGHTLY_DIR      where results go (/var/lib/wkit/results)
#   NIGHTLY_TIMEOUT  give up waiting after this long (6h)
#   NIGHTLY_DAY      the day, for a re-run of another night (today)
# Exit status: 0 all done, 1 some tasks failed (results still written),
# 124 the wait timed out (NIGHTLY_TIMEOUT), anything else wpool's own.
set -eu
name=${NIGHTLY_NAME:-nightly}
kernel=${NIGHTLY_KERNEL:-pi.so}
gen=${NIGHTLY_GEN:-wgen seeds 1000}
dir=${NIGHTLY_DIR:-/var/lib/wkit/results}
day=${NIGHTLY_DAY:-$(date +%F)}
campaign=$name-$day
out=$dir/$campaign.jsonl

mkdir -p "$dir"
# shellcheck disable=SC2086 # NIGHTLY_GEN is a command line on purpose
$gen | wpool submit "$campaign" --kernel "$kernel" --once-key "$day"
rc=0
wpool wait "$campaign" --timeout "${NIGHTLY_TIMEOUT:-6h}" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
# Written beside, then renamed: a reader never sees half a file.
wpool results "$campaign" >"$out.tmp"
mv "$out.tmp" "$out"
if [ -n "${MAILTO:-}" ] && command -v mail >/dev/null 2>&1; then
  status=ok
  [ "$rc" -eq 0 ] || status="with failures"
  mail -s "wkit: $campaign $status ($(wc -l <"$out") results)" "$MAILTO" <"$out"
fi
exit "$rc"
