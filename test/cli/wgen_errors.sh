# Mistakes get a message that says what is wrong and a meaningful exit code.
. "$(dirname "$0")/common.sh"
run wgen
expect_rc 2
expect_err "wgen: error: A subcommand is required"
run wgen range 0 100
expect_rc 2
expect_err "wgen: error: range: give exactly one of --step or --chunks"
run wgen range 0 ten --step 1
expect_rc 2
expect_err "wgen: error: TO: not a number: 'ten'"
run wgen range 0 100 --step 0.5
expect_rc 2
expect_err "--step: not a whole number: '0.5'"
run wgen lines "$TMP/missing.txt"
expect_rc 66
expect_err "wgen: error: open '$TMP/missing.txt': No such file or directory"
run wgen files "$TMP/nothing-*"
expect_rc 66
expect_err "files: nothing matches"
run wgen grid lr
expect_rc 2
expect_err "grid: 'lr' is not key=values"
run wgen blocks 2by2 --size 4x4
expect_rc 2
expect_err "'2by2' is not RxC"
printf 'a,b\n1,2,3\n' >"$TMP/bad.csv"
run wgen csv "$TMP/bad.csv" --header
expect_rc 65
expect_err "line 2: 3 fields, the header has 2"
