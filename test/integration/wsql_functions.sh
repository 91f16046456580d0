#!/usr/bin/env bash
# SQL functions are an allow-list. With --map the csvtable module is loaded,
# and its import_csv(table, file) once read any file the server could read:
# read+write+table on one database read the HMAC secret, and with it minted
# any capability. Now every function SQLite registers in the server's
# connections (pragma_function_list, asked of the server itself) is either
# on the reviewed list below or refused by the authorizer, and nothing that
# touches files or loads code is on the list.
source "$(dirname "$0")/wsql_common.sh"
printf 'name,age\nann,31\n' >"$TMP/people.csv"
start_server --map people="$TMP/people.csv"
ALL=$(mint all)
RWT=$(mint read,write,table runs)
rpc '{"op":"create_db","db":"runs"}' >/dev/null

# The attack as it was: import the secret file as a table, then read it.
expect_code '{"op":"sql","sql":"SELECT import_csv(?, ?)","params":["stolen","'"$SECRET"'"]}' denied "$RWT" runs
rpc '{"op":"tables"}' "$RWT" runs | jq -e '[.tables[].name] | index("stolen") == null' >/dev/null ||
  fail "import_csv created a table"
secret=$(head -1 "$SECRET")
rpc '{"op":"sql","sql":"SELECT * FROM stolen"}' "$RWT" runs | grep -qF "$secret" && fail "the secret was read"
# Nor through a view someone else reads (SQLite's trusted_schema=OFF
# refuses it in a view too, as "unsafe use").
rpc '{"op":"sql","sql":"CREATE VIEW v AS SELECT import_csv('"'"'x'"'"', '"'"'/etc/hostname'"'"') AS r"}' "$ALL" runs >/dev/null
rpc '{"op":"sql","sql":"SELECT * FROM v"}' "$ALL" runs | jq -e '.error.code == "denied" or .error.code == "sql"' >/dev/null ||
  fail "a view called import_csv"
rpc '{"op":"tables"}' "$ALL" runs | jq -e '[.tables[].name] | index("x") == null' >/dev/null || fail "the view imported a file"
# Other ways out of the database: loading code, FTS3 tokenizers (a
# pointer from SQL), the error log, the statement list of other clients.
for sql in "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3_mod_csvtable.so')" \
  "SELECT fts3_tokenizer('simple')" "SELECT sqlite_log(1, 'x')" "SELECT rtreenode(2, x'00')"; do
  expect_code "{\"op\":\"sql\",\"sql\":\"$sql\"}" denied "$ALL" runs
done
# Those two modules are not even there (the module list is an allow-list).
for sql in "SELECT sql FROM sqlite_stmt" "SELECT * FROM dbstat" "SELECT * FROM pragma_module_list"; do
  rpc "{\"op\":\"sql\",\"sql\":\"$sql\"}" "$ALL" runs | jq -e '.error.code == "denied" or .error.code == "not_found"' >/dev/null ||
    fail "$sql: $(rpc "{\"op\":\"sql\",\"sql\":\"$sql\"}" "$ALL" runs)"
done
# Table-valued functions the list allows work for a reader from the start
# (their first use once failed: SQLite declares them on the fly).
rpc '{"op":"sql","sql":"SELECT sum(value) AS s FROM json_each(?)","params":["[1,2,3]"]}' "$(mint read runs)" runs |
  jq -e '.rows == [[6]]' >/dev/null || fail "json_each for a reader"
rpc '{"op":"sql","sql":"SELECT age FROM people"}' "$(mint read runs)" runs | jq -e '.rows == [["31"]]' >/dev/null ||
  fail "the CSV map"

# Every function the server's connections know: on the list, or refused.
# Reviewed list: pure functions of their arguments, aggregates and window
# functions, JSON, math, date/time, and FTS5's query helpers.
allowed=" abs avg changes char coalesce count format glob group_concat hex ifnull iif instr
  last_insert_rowid length like likelihood likely lower ltrim max min nullif printf quote random
  randomblob replace round rtrim sign soundex substr substring sum total total_changes trim typeof
  unicode unlikely upper zeroblob sqlite_version sqlite_source_id subtype
  date time datetime julianday strftime unixepoch current_date current_time current_timestamp
  acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log log10 log2
  mod pi pow power radians sin sinh sqrt tan tanh trunc
  row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
  json json_array json_array_length json_extract json_insert json_object json_patch json_quote
  json_remove json_replace json_set json_type json_valid json_group_array json_group_object -> ->>
  match bm25 highlight snippet "
allowed=" $(tr -s ' \n' '  ' <<<"$allowed") "
rpc '{"op":"sql","sql":"SELECT name, narg, type FROM pragma_function_list ORDER BY name, narg"}' "$(mint read runs)" runs >"$TMP/fl.json"
jq -e '.rows | length > 150' "$TMP/fl.json" >/dev/null || fail "pragma_function_list: $(head -c 300 "$TMP/fl.json")"
jq -e '[.rows[][0]] | index("import_csv") != null' "$TMP/fl.json" >/dev/null || fail "csvtable's functions are not listed"
# One call per (name, arity), all in one batch: NULL arguments, a window
# function with OVER (), an operator through its operator form.
jq -c '[.rows[] | . as [$name, $narg, $type]
  | ([range(if $narg < 0 then 1 else $narg end)] | map("NULL") | join(", ")) as $args
  | (if ($name | test("^[a-z_][a-z0-9_]*$")) then "\($name)(\($args))" else "NULL \($name) NULL" end) as $call
  | {id: "\($name)/\($narg)", op: "sql", sql: "SELECT \($call)\(if $type == "w" then " OVER ()" else "" end)"}]' \
  "$TMP/fl.json" >"$TMP/calls.json"
curl -s -m 60 -X POST "$HTTP/rpc?cap=$ALL&db=runs" --data-binary @"$TMP/calls.json" >"$TMP/answers.json"
jq -e 'length > 150' "$TMP/answers.json" >/dev/null || fail "the batch of calls: $(head -c 300 "$TMP/answers.json")"
jq -r '.[] | "\(.id)\t\(if (.error.message // "" | test("not authorized")) then "refused" else "allowed" end)"' \
  "$TMP/answers.json" >"$TMP/verdicts"
refused=0
while IFS=$'\t' read -r id verdict; do
  name=${id%/*}
  if [ "$verdict" = refused ]; then
    refused=$((refused + 1))
    case "$allowed" in *" $name "*) fail "$id is on the list but refused" ;; esac
  else
    case "$allowed" in *" $name "*) ;; *) fail "$id is allowed but not on the reviewed list" ;; esac
  fi
done <"$TMP/verdicts"
grep -qx $'import_csv/-1\trefused' "$TMP/verdicts" || fail "import_csv: $(grep import_csv "$TMP/verdicts")"
grep -qx $'load_extension/1\trefused' "$TMP/verdicts" || fail "load_extension is not refused"
[ "$refused" -ge 10 ] || fail "only $refused functions refused"
server_alive
echo "ok: $(wc -l <"$TMP/verdicts") functions checked, $refused refused: $(awk -F"\t" '$2 == "refused" {printf "%s ", $1}' "$TMP/verdicts")"
