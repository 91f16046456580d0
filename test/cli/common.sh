# Shared helpers for test/cli/*.sh. Each script tests one behaviour, asserts
# exit codes and message text, and cleans up after itself.
#   W_BIN      build/bin (programs)     W_KERNELS  build/kernels
#   W_SRC      source root              W_SANITIZE 1 under the ASan build
set -euo pipefail

: "${W_BIN:?W_BIN must point at build/bin}"
: "${W_SRC:?W_SRC must point at the source root}"
W_KERNELS=${W_KERNELS:-$W_BIN/../kernels}
PATH="$W_BIN:$PATH"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run CMD...: runs a command, keeping its exit code in $rc, stdout in
# $TMP/out and stderr in $TMP/err, without stopping the script.
run() {
  set +e
  "$@" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  set -e
}

expect_rc() {
  [ "$rc" -eq "$1" ] || fail "expected exit $1, got $rc; stderr: $(head -c 2000 "$TMP/err")"
}

# expect_err TEXT: stderr contains TEXT (a fixed string).
expect_err() {
  grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1'; stderr was: $(head -c 2000 "$TMP/err")"
}

expect_out() {
  grep -qF -- "$1" "$TMP/out" || fail "stdout lacks '$1'; stdout was: $(head -c 2000 "$TMP/out")"
}

# no_zombies PID: no child of PID is left as a zombie or still running.
children_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }

# man_covers_help PROG MANPAGE [SUBCOMMAND]: every long option in --help
# appears in the man page.
man_covers_help() {
  local prog=$1 page=$2 sub=${3:-}
  local opts
  if [ -n "$sub" ]; then
    opts=$("$prog" "$sub" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
  else
    opts=$("$prog" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
  fi
  [ -n "$opts" ] || fail "$prog --help lists no options"
  # Compare with the page as a reader sees it, without overstrike.
  mandoc -Tascii "$page" | sed 's/.\x08//g' >"$TMP/man.txt"
  local o
  for o in $opts; do
    grep -qF -- "$o" "$TMP/man.txt" || fail "$page does not document $o (from $prog ${sub:+$sub }--help)"
  done
}
