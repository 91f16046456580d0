# The pool stores only plausible kernels: an ELF shared object for the
# machine its platform names (linux-x86_64), or a WebAssembly module
# (wasm32), no larger than --max-kernel. Anything else is refused before it
# is stored, whether uploaded by `kernel add` or by `submit`, and a refused
# submit leaves no campaign behind.
. "$(dirname "$0")/pool_common.sh"
ECHO=$W_KERNELS/echo.so
size=$(stat -c %s "$ECHO")
LIMIT=$((size + 4096))
POOL_ARGS="--max-kernel $LIMIT"
start_pool

# Byte patches of a real kernel: offset 16 is e_type, 18 e_machine (LE).
patch() { cp "$ECHO" "$2"; printf "$1" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none; }
head -c 4096 /dev/urandom >"$TMP/junk.so"
patch '\xb7\x00' "$TMP/arm64.so" 18        # EM_AARCH64
patch '\x02\x00' "$TMP/exec.so" 16         # ET_EXEC: a program, not a library
printf '\x7fELF\x01\x01\x01' >"$TMP/elf32.so"
head -c 4000 /dev/zero >>"$TMP/elf32.so"   # ELFCLASS32
head -c 200 "$ECHO" >"$TMP/short.so"       # its program headers are cut off
cp "$ECHO" "$TMP/echo-as.wasm"
{ cat "$ECHO"; head -c 8192 /dev/zero; } >"$TMP/big.so"

refused() {  # FILE MESSAGE: kernel add exits 65 naming why
  run wpool kernel add "$1"
  expect_rc 65
  expect_err "wpool: error: kernel '$(basename "$1")': $2"
}
refused "$TMP/junk.so" "not an ELF file (linux-x86_64 wants an ELF shared object)"
refused "$TMP/arm64.so" "built for machine 183, not x86-64 (linux-x86_64)"
refused "$TMP/exec.so" "not a shared object (ELF type 2)"
refused "$TMP/elf32.so" "not a 64-bit little-endian ELF file"
refused "$TMP/short.so" "truncated: its program headers end past its 200 bytes"
refused "$TMP/echo-as.wasm" "not a WebAssembly module (wasm32 wants the magic \\0asm, version 1)"
refused "$TMP/big.so" "$((size + 8192)) bytes is over the pool's limit of $LIMIT (--max-kernel)"

# Through submit: the same refusal, and no campaign.
datasets 5 >"$TMP/in"
run wpool submit junk --kernel "$TMP/junk.so" <"$TMP/in"
expect_rc 65
expect_err "kernel 'junk.so': not an ELF file"
run wpool status junk
expect_rc 66

# A platform the pool does not know is refused too (the client names only
# the two, so ask over the wire).
/usr/bin/python3 - "$PORT" <<'PY' >"$TMP/py" || fail "platform probe failed"
import os, sys
sys.path.insert(0, os.environ["W_SRC"] + "/test/integration")
from pool_protocol import CLIENT_HELLO, Conn
c = Conn(int(sys.argv[1]), "/client")
c.send(CLIENT_HELLO)
c.receive()
c.send({"t": "kernel_put", "name": "k.so", "platform": "windows-x86_64", "data": b"MZ" * 100})
print(c.receive())
PY
grep -q "platform 'windows-x86_64' is not one of linux-x86_64, linux-aarch64, wasm32" "$TMP/py" ||
  fail "unknown platform: $(cat "$TMP/py")"

# Nothing of that was stored; real kernels still are.
[ "$(wpool kernel list | wc -l)" = 1 ] || fail "refused kernels were stored: $(wpool kernel list)"
run wpool kernel add "$ECHO"
expect_rc 0
wasm=$(ls "$W_KERNELS"/*.wasm 2>/dev/null | head -1 || true)
if [ -n "$wasm" ] && [ "$(stat -c %s "$wasm")" -le "$LIMIT" ]; then
  run wpool kernel add "$wasm"
  expect_rc 0
fi
run wpool submit fine --kernel "$ECHO" <"$TMP/in"
expect_rc 0
