# The pool's scenario tests again with the store on PostgreSQL
# (W_TEST_POOL_DB=postgres: each starts a throwaway cluster, pg_common.sh):
# campaigns, kill -9 and restart of the pool, failures and retries,
# checkpoints, quarantine, campaign states, submits cut short, waits on a
# cancelled campaign, speculative copies, replicas and quorum. Left out:
# those that read the SQLite file itself.
. "$(dirname "$0")/../cli/common.sh"
dir=$(dirname "$0")
for t in pool_campaign pool_kill_pool pool_failures pool_checkpoint \
  pool_restart_campaigns pool_quarantine pool_states pool_submit_interrupted pool_wait_cancelled \
  pool_speculate pool_replicas; do
  W_TEST_POOL_DB=postgres bash "$dir/$t.sh" >"$TMP/$t.log" 2>&1 ||
    fail "$t on PostgreSQL: $(tail -20 "$TMP/$t.log")"
done
