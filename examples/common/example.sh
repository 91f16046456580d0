# example.sh — sourced first by every examples/*/run.sh: the preamble they
# all share. Each run.sh stays runnable on its own, from any directory:
#
#   set -euo pipefail
#   here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   . "$here/../common/example.sh"
#   example_start NAME "${1:-}" bin/wrun kernels/NAME.so ...
#
# example_start NAME BUILD FILE...: defines fail ("check: NAME FAIL ...",
# then exit 1), sets build to the build directory BUILD as an absolute path
# (default $here/../../build, build/ in the repo) and fails unless every
# FILE is there under it.
# shellcheck shell=bash

example_start() {
  : "${here:?example.sh needs here, the directory of the example}"
  EXAMPLE_NAME=$1
  local dir=${2:-$here/../../build} f
  fail() {
    echo "check: $EXAMPLE_NAME FAIL $*"
    exit 1
  }
  build=$(cd "$dir" 2>/dev/null && pwd) || fail "no build directory $dir"
  shift 2
  for f in "$@"; do
    [[ -e $build/$f ]] || fail "$build/$f is missing (build it first)"
  done
}
