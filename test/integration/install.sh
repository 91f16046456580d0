# `make install DESTDIR=... PREFIX=/usr` into a scratch root, then the
# installed tree used as a sysadmin and a kernel author would: the programs,
# man pages, the BUILT browser app (wrun.js/.wasm, wbench.js/.wasm), the
# example kernels and no test kernel, the cron script and the Slurm job
# script where the README points, the systemd units (ExecStart at PREFIX/bin; each scored by
# `systemd-analyze security --offline=true`, 2.0 "OK" at most, and
# verified), w_kernel.h/.hpp, find_package(wkit) and wkit-kernel.pc each
# building a kernel that the installed wrun runs; bare kernel names found
# in the installed kernel directory and through W_KERNEL_PATH; the
# installed wpool, with no --www, serves a page that loads wrun.wasm in
# headless Chromium and runs a campaign.
. "$(dirname "$0")/pool_common.sh"
. "$(dirname "$0")/tls_common.sh"
W_BUILD=${W_BUILD:-$W_BIN/..}
root=$TMP/root
# The README's command, on this build tree (nothing to rebuild here: ctest
# runs after the build; deps.sh only checks).
make -s -C "$W_SRC" install BUILD="$W_BUILD" DESTDIR="$root" PREFIX=/usr JOBS=2 \
  >"$TMP/install.log" 2>&1 || fail "make install: $(tail -20 "$TMP/install.log")"
u=$root/usr
[ ! -e "$root/usr/local" ] || fail "PREFIX=/usr was not honoured: $(ls "$root/usr/local")"

for p in wsig wpool wsql wgen wrun wbench; do
  [ -x "$u/bin/$p" ] || fail "bin/$p not installed"
  [ -f "$u/share/man/man1/$p.1" ] || fail "man page $p.1 not installed"
done
for f in index.html dashboard.html volunteer.js worker.js wkit_host.js datachannel.js wrun.js wrun.wasm wbench.js \
  wbench.wasm; do
  [ -s "$u/share/wkit/www/$f" ] || fail "share/wkit/www/$f not installed (the built app)"
done
for k in divisible primes pi; do
  [ -f "$u/lib/wkit/kernels/$k.so" ] || fail "example kernel $k.so not installed"
  [ -f "$u/lib/wkit/kernels/$k.wasm" ] || fail "example kernel $k.wasm not installed"
done
for src in "$W_SRC"/test/kernels/*.c "$W_SRC"/test/kernels/*.cc; do
  k=$(basename "${src%.*}")
  [ ! -e "$u/lib/wkit/kernels/$k.so" ] || fail "test kernel $k.so was installed"
done
[ -z "$(find "$root" -name 'escape*' -o -name 'crash*' -o -name 'membomb*')" ] ||
  fail "test files installed: $(find "$root" -name 'escape*' -o -name 'crash*' -o -name 'membomb*')"
[ -f "$u/include/w_kernel.h" ] && [ -f "$u/include/w_kernel.hpp" ] || fail "w_kernel.h/.hpp not installed"

# The cron script where the README's crontab points (PREFIX/share/wkit/cron).
cron=$(grep -oE '/usr/local/share/wkit/cron/nightly\.sh' "$W_SRC/README.md" | head -1)
[ -n "$cron" ] || fail "README has no crontab line for share/wkit/cron/nightly.sh"
[ -x "$u/${cron#/usr/local/}" ] || fail "$cron (PREFIX-relative) not installed executable"
# The Slurm job script where README "Running on a cluster" points.
sbatch=$(grep -oE '/usr/local/share/wkit/slurm/wrun\.sbatch' "$W_SRC/README.md" | head -1)
[ -n "$sbatch" ] || fail "README has no sbatch line for share/wkit/slurm/wrun.sbatch"
[ -x "$u/${sbatch#/usr/local/}" ] || fail "$sbatch (PREFIX-relative) not installed"

# systemd units for this prefix, hardened.
for unit in wpool.service wrun@.service wsig.service wsql.service; do
  f=$u/lib/systemd/system/$unit
  [ -f "$f" ] || fail "unit $unit not installed"
  grep -q '^ExecStart=/usr/bin/w' "$f" || fail "$unit: ExecStart not at PREFIX/bin: $(grep ExecStart "$f")"
  ! grep -q '@[A-Z]*@' "$f" || fail "$unit: a placeholder was left: $(grep '@[A-Z]*@' "$f")"
done
if command -v systemd-analyze >/dev/null; then
  # verify: the syntax, every directive known, the programs there (the
  # units as installed, pointed at the DESTDIR copy of PREFIX/bin).
  mkdir "$TMP/units"
  for f in "$u"/lib/systemd/system/*.service; do
    sed "s|=/usr/bin/|=$u/bin/|" "$f" >"$TMP/units/$(basename "$f")"
  done
  mv "$TMP/units/wrun@.service" "$TMP/units/wrun@pool.example.org.service"
  for f in "$TMP"/units/*.service; do
    systemd-analyze verify --man=no "$f" >"$TMP/verify" 2>&1 ||
      fail "systemd-analyze verify $(basename "$f"): $(cat "$TMP/verify")"
    ! grep -qiE 'unknown|ignoring|invalid|failed' "$TMP/verify" || fail "verify $(basename "$f"): $(cat "$TMP/verify")"
    systemd-analyze security --offline=true "$f" >"$TMP/security" 2>&1 ||
      fail "systemd-analyze security $(basename "$f"): $(tail -5 "$TMP/security")"
    score=$(grep -oE 'Overall exposure level for [^:]+: [0-9.]+' "$TMP/security" | grep -oE '[0-9.]+$')
    [ -n "$score" ] || fail "no score for $(basename "$f"): $(tail -5 "$TMP/security")"
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
      fail "$(basename "$f") scores $score (> 2.0): $(grep -E '✗' "$TMP/security" | head -20)"
    echo "$(basename "$f"): $score"
  done
else
  echo "SKIP: no systemd-analyze on this machine" >&2
fi

# Kernel authors: find_package(wkit) and pkg-config, against the installed tree only.
cp "$(dirname "$0")/install/CMakeLists.txt" "$(dirname "$0")/install/triple.cc" "$TMP/"
mkdir "$TMP/kernel"
mv "$TMP/CMakeLists.txt" "$TMP/triple.cc" "$TMP/kernel/"
cmake -S "$TMP/kernel" -B "$TMP/kernel/build" -DCMAKE_PREFIX_PATH="$u" >"$TMP/cmake.log" 2>&1 ||
  fail "find_package(wkit): $(tail -20 "$TMP/cmake.log")"
cmake --build "$TMP/kernel/build" >>"$TMP/cmake.log" 2>&1 || fail "w_add_kernel: $(tail -20 "$TMP/cmake.log")"
[ -f "$TMP/kernel/build/triple.so" ] || fail "w_add_kernel made no triple.so: $(ls "$TMP/kernel/build")"
mkdir "$TMP/pc"
# shellcheck disable=SC2046
c++ -std=c++17 -O2 $(PKG_CONFIG_PATH=$u/lib/pkgconfig pkg-config --cflags --libs wkit-kernel) \
  "$TMP/kernel/triple.cc" -o "$TMP/pc/triple.so" 2>"$TMP/pc.log" || fail "pkg-config build: $(cat "$TMP/pc.log")"
[ "$(PKG_CONFIG_PATH=$u/lib/pkgconfig pkg-config --variable=kerneldir wkit-kernel)" -ef "$u/lib/wkit/kernels" ] ||
  fail "wkit-kernel.pc kerneldir is not the installed kernels"
outputs() { jq -sc 'sort_by(.seq) | map(.output)'; }
want=$(printf '{"x":%d}\n' 1 2 3 | "$u/bin/wrun" -k "$TMP/kernel/build/triple.so" | outputs)
[ "$want" = '[3,6,9]' ] || fail "find_package kernel: $want"
got=$(printf '{"x":%d}\n' 1 2 3 | "$u/bin/wrun" -k "$TMP/pc/triple.so" | outputs)
[ "$got" = "$want" ] || fail "pkg-config kernel: $got"

# Bare names: the installed kernels (found from the installed wrun), then
# W_KERNEL_PATH; an unknown name says where it looked.
cd "$TMP"
got=$(echo '{"min":0,"max":20}' | "$u/bin/wrun" -k divisible.so --static '{"divisor":7}' | jq -c .output)
[ "$got" = '[0,7,14]' ] || fail "wrun -k divisible.so: $got"
got=$(echo '{"x":5}' | W_KERNEL_PATH=$TMP/nowhere:$TMP/pc "$u/bin/wrun" -k triple | jq -c .output)
[ "$got" = 15 ] || fail "W_KERNEL_PATH: $got"
run "$u/bin/wrun" -k nosuch.so </dev/null
[ "$rc" -ne 0 ] || fail "an unknown kernel name ran"
expect_err "kernel 'nosuch.so': not found in"
expect_err "$u/lib/wkit/kernels"

# The installed wpool (no --www) serves the installed app; a bare kernel
# name is submitted; Chromium loads wrun.wasm from it and runs the campaign.
"$u/bin/wpool" serve --db "$TMP/pool.db" --listen 127.0.0.1:0 --heartbeat 1s 2>"$TMP/pool.log" &
PIDS+=($!)
PORT=$(wait_listening "$TMP/pool.log")
grep -qF "serving the browser app from '$u/share/wkit/www'" "$TMP/pool.log" ||
  fail "the installed wpool does not serve the installed app: $(cat "$TMP/pool.log")"
export W_POOL=ws://127.0.0.1:$PORT
wgen range 0 20000 --step 1000 | "$u/bin/wpool" submit inst --kernel divisible --static '{"divisor":13}' ||
  fail "wpool submit --kernel divisible (a bare name)"
"$u/bin/wpool" kernel list | grep -q 'divisible.wasm' || fail "the .wasm beside the installed .so was not sent"
. "$(dirname "$0")/browser/env.sh"
W_BIN=$u/bin node "$W_SRC/test/integration/browser/join.js" "http://127.0.0.1:$PORT/" - inst 1 120 \
  >"$TMP/join.out" 2>"$TMP/join.err" || fail "the page: $(cat "$TMP/join.err")"
"$u/bin/wpool" results inst >"$TMP/results"
[ "$(wc -l <"$TMP/results")" = 20 ] || fail "$(wc -l <"$TMP/results") results"
jq -se 'all(.[]; .platform == "wasm32" and (.error == null))' "$TMP/results" >/dev/null ||
  fail "not every result from the browser: $(head -3 "$TMP/results")"
