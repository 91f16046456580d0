#!/usr/bin/env bash
# The pool protocol's tasks and results frames packed and unpacked by wkit's
# own msgpack code (through proto/, and bare) and by msgpack-c, in one run
# (bench/codec.cc says what each side does). Issue 16 step 5.
# Usage: bench/codec.sh [BUILD_DIR] [ITEMS_PER_FRAME] [SECONDS_PER_ROW]
set -euo pipefail
B=${1:-build}
"$B/bench/codec_bench" "${2:-64}" "${3:-2}"
