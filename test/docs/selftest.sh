#!/usr/bin/env bash
# The docs test can fail: examples.py over a small source tree of wrong
# examples must fail each one, naming why, and pass the right ones.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "docs selftest: $*" >&2; exit 1; }

run() {  # run DOC: writes $tmp/src/README.md, runs examples.py, keeps its output in $out
  rm -rf "$tmp/src" && mkdir -p "$tmp/src/man" && cat >"$tmp/src/README.md"
  set +e
  out=$(python3 "$here/examples.py" --src "$tmp/src" --build "${W_BUILD:?}" 2>&1)
  status=$?
  set -e
}

run <<'DOC'
```console
$ echo hello
hello
...
$ false
[exit 1]
```

<!-- example: skip the reason -->
```sh
exit 3
```

```sh
x=1
```

<!-- example: continue -->
```console
$ echo "$x" && wgen --version >/dev/null
1
```
DOC
((status == 0)) || fail "right examples failed: $out"
grep -q '2 run, 1 skipped' <<<"$out" || fail "wrong counts: $out"

run <<'DOC'
```console
$ echo hello
goodbye
```
DOC
((status == 1)) && grep -q 'printed output differs' <<<"$out" || fail "a wrong output passed: $out"

run <<'DOC'
```sh
true
wgen no-such-command
true
```
DOC
((status == 1)) && grep -q 'exit status 2' <<<"$out" || fail "a failing command passed: $out"

run <<'DOC'
Some text:

    wgen range 0 10 --step 1
DOC
((status == 1)) && grep -q 'indented code block' <<<"$out" || fail "an indented block passed: $out"

run <<'DOC'
<!-- example: skip -->
```sh
true
```
DOC
((status == 1)) && grep -q 'needs a reason' <<<"$out" || fail "a skip without reason passed: $out"

run <<'DOC'
<!-- example: timeout 1 -->
```sh
sleep 30 &
sleep 5
```
DOC
((status == 1)) && grep -q 'still running after 1 s' <<<"$out" || fail "a hung block passed: $out"
echo "docs selftest: ok"
