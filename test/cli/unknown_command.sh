# A word where a command belongs is named as an unknown command (exit 2),
# at every level that has commands, instead of CLI11's "A subcommand is
# required" or "The following argument was not expected".
. "$(dirname "$0")/common.sh"
check() {
  local word=$1
  shift
  run timeout 10 "$@" # wsig frob used to start a server
  expect_rc 2
  expect_err "$1: error: unknown command '$word'"
  expect_err "run '$1 --help' for usage"
}
check frob wpool frob
check frob wpool --pool ws://127.0.0.1:1 frob # an option's value is not the command
check frob wpool kernel frob
check frob wpool workers frob
check frob wpool secret frob
check frob wsql frob
check frob wsql --timeout 1s frob
check frob wgen frob
check frob wsig frob
# No command at all is still said so; extra arguments of a command without
# subcommands are not "commands".
run wpool
expect_rc 2
expect_err "A subcommand is required"
run wpool status a b
expect_rc 2
expect_err "not expected: b"
