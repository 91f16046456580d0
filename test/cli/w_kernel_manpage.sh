# man/w_kernel.3 lints clean and documents everything w_kernel.h and
# w_kernel.hpp give a kernel author: each helper, hook field and macro
# (run_main and run_init are the macros' plumbing).
. "$(dirname "$0")/common.sh"
page=$W_SRC/man/w_kernel.3
out=$(mandoc -Tlint -Wwarning "$page" 2>&1 || true)
[ -z "$out" ] || fail "mandoc: $out"
mandoc -Tascii "$page" | sed 's/.\x08//g' >"$TMP/man.txt"
names=$(grep -ohE '\b(w_[a-z_]+|W_[A-Z_]+)\b' "$W_SRC/lib/kernel/w_kernel.h" | grep -v '^W_KERNEL_H_$' | sort -u)
names="$names $(grep -ohE 'w::kernel::[a-z_]+' "$W_SRC/lib/kernel/w_kernel.hpp" | grep -v run_ | sort -u)"
for n in $names restore restore_n progress checkpoint; do
  grep -qF -- "$n" "$TMP/man.txt" || fail "$page does not mention $n"
done
