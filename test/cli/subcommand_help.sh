# A subcommand's --help shows its own examples, or none: it used to repeat
# every example of the program under each command (issue 15).
. "$(dirname "$0")/common.sh"
# The program's own examples stay under the program's --help.
run wpool --help
expect_rc 0
expect_out "wpool workers unflag k-3f2a9c81d0e4b7a2"
run wpool wait --help
expect_rc 0
expect_out "wpool wait nightly --timeout 2h"
grep -qF "wpool workers unflag" "$TMP/out" && fail "wpool wait --help repeats the program's examples"
run wpool pause --help
expect_rc 0
grep -q "^Examples:" "$TMP/out" && fail "wpool pause --help shows examples it does not have: $(cat "$TMP/out")"
run wsql insert --help
expect_rc 0
expect_out "wsql insert --create"
grep -qF "wsql serve --dir" "$TMP/out" && fail "wsql insert --help repeats the program's examples"
run wsql drop --help
expect_rc 0
grep -q "^Examples:" "$TMP/out" && fail "wsql drop --help shows examples it does not have"
echo ok
