#!/usr/bin/env bash
# make lint: clang-tidy with the repository's .clang-tidy (checks for bugs,
# every finding an error) over lib/ and tools/, JOBS files at once, and no
# source file of lib/ or tools/ over 600 lines.
#
# usage: lint.sh BUILD_DIR [JOBS]
#   LINT_BASE=REF  lint only the .cc files changed since git REF (all of
#                  them when a header changed), for a quick check before a
#                  commit; CI lints everything.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: lint.sh BUILD_DIR [JOBS]}
jobs=${2:-$(nproc)}
max_lines=600

status=0
# Files past the limit are split along their seams (STYLE.md), not lint-suppressed.
while read -r n f; do
  [[ $f == total ]] && continue
  if ((n > max_lines)); then
    echo "lint: $f has $n lines (at most $max_lines)" >&2
    status=1
  fi
done < <(git ls-files 'lib/*.cc' 'lib/*.h' 'lib/*.hpp' 'lib/*.c' 'tools/*.cc' 'tools/*.h' | xargs wc -l)

command -v run-clang-tidy >/dev/null || {
  echo "lint: run-clang-tidy is missing (Debian package clang-tidy; make deps installs it)" >&2
  exit 77
}
[[ -f $build/compile_commands.json ]] || {
  echo "lint: no $build/compile_commands.json: configure the build first (make configure)" >&2
  exit 2
}

# The files: every lib/src and tools/ entry of the compile database (the
# browser-only *_emscripten.cc are not in it), or the changed ones.
filter='/(lib/src|tools)/'
if [[ -n ${LINT_BASE:-} ]]; then
  changed=$(git diff --name-only "$LINT_BASE" -- lib tools)
  if ! grep -qE '\.(h|hpp)$' <<<"$changed"; then
    files=$(grep -E '\.cc$' <<<"$changed" | sed 's/[.]/[.]/g' | paste -sd'|' || true)
    if [[ -z $files ]]; then
      echo "lint: no file of lib/ or tools/ changed since $LINT_BASE"
      exit $status
    fi
    filter="/($files)\$"
  fi
fi

start=$(date +%s)
if ! run-clang-tidy -quiet -p "$build" -j "$jobs" "$filter" >"$build/lint.log" 2>&1; then
  # Only the findings, without the "N warnings generated" chatter.
  grep -E ': (error|warning): |^ ' "$build/lint.log" | grep -v 'warnings generated' >&2 || true
  echo "lint: clang-tidy found the errors above (all of its output: $build/lint.log)" >&2
  status=1
fi
echo "lint: clang-tidy took $(($(date +%s) - start)) s on $jobs jobs"
exit $status
