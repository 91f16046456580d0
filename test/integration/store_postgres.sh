# The PostgreSQL store's unit tests (test/unit/pool/store_test.cc, tag
# [postgres], hidden from the plain unit run) on a throwaway PostgreSQL 15
# cluster: a fresh database per test case.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/pg_common.sh"

unit="$W_BUILD/bin/unit_tests"
[ -x "$unit" ] || fail "no $unit: build the unit tests"
start_postgres
n=0
while IFS= read -r name; do
  n=$((n + 1))
  db=$(pg_createdb "unit$n")
  # A comma in a name would split Catch's test spec: escaped. -w NoTests:
  # a name that matches nothing fails rather than passes.
  W_TEST_PG=$db "$unit" -w NoTests "${name//,/\\,}" >"$TMP/unit$n.log" 2>&1 ||
    fail "$name: $(tail -30 "$TMP/unit$n.log")"
  grep -q '^All tests passed' "$TMP/unit$n.log" || fail "$name: $(tail -5 "$TMP/unit$n.log")"
done < <("$unit" "[postgres]" --list-test-names-only | grep -v '^$')
[ "$n" -gt 0 ] || fail "no test case is tagged [postgres]"
echo "ok: $n PostgreSQL store test(s)"
