# Kernels that try to run code outside the sandbox at load time (an ELF
# constructor, a C++ static initializer, a linked library's constructor, an
# ifunc resolver, a thread started by a constructor) leave no mark outside
# it, in wrun's filter mode and in wgen kernel; each fails with the reason.
# Executable memory made after load is refused too.
. "$(dirname "$0")/common.sh"
ESCAPE=$W_BIN/../escape
export WKIT_ESCAPE_MARK=$TMP/mark
printf '{"a":1}\n{"b":2}\n' >"$TMP/in"
cd "$TMP" # the ifunc resolver marks the current directory (wkit-ifunc-mark)

for k in ctor static_init linked ifunc thread; do
  rm -f "$WKIT_ESCAPE_MARK"
  run wrun -k "$ESCAPE/$k.so" -j 1 --keep-going --timeout 5s <"$TMP/in"
  sleep 0.5 # the thread's attempt comes 0.3 s after load
  [ ! -e "$WKIT_ESCAPE_MARK" ] || fail "$k.so escaped the sandbox in filter mode: $(cat "$WKIT_ESCAPE_MARK")"
  [ ! -e wkit-ifunc-mark ] || fail "$k.so escaped the sandbox in filter mode (ifunc mark)"
  [ "$rc" -ne 0 ] || fail "$k.so ran as if nothing happened: $(cat "$TMP/out")"
  grep -qE "forbidden system call|the sandbox lets a kernel link only" "$TMP/err" "$TMP/out" ||
    fail "$k.so failed without the sandbox's reason: $(head -c 1000 "$TMP/err") $(head -c 1000 "$TMP/out")"

  rm -f "$WKIT_ESCAPE_MARK"
  run wgen kernel "$ESCAPE/$k.so" --timeout 5s
  sleep 0.5
  [ ! -e "$WKIT_ESCAPE_MARK" ] || fail "$k.so escaped the sandbox in wgen kernel: $(cat "$WKIT_ESCAPE_MARK")"
  [ ! -e wkit-ifunc-mark ] || fail "$k.so escaped the sandbox in wgen kernel (ifunc mark)"
  [ "$rc" -ne 0 ] || fail "wgen kernel $k.so succeeded"
done

# A kernel may not make memory executable after load, by mmap or by mprotect.
printf '{"how":"mmap"}\n{"how":"mprotect"}\n' >"$TMP/exec"
run wrun -k "$ESCAPE/exec_memory.so" -j 1 --keep-going <"$TMP/exec"
expect_rc 1
[ "$(jq -s -c 'map(.error)' "$TMP/out")" = '["forbidden system call: mmap (the sandbox allows only computing)","forbidden system call: mprotect (the sandbox allows only computing)"]' ] ||
  fail "executable memory: $(cat "$TMP/out")"
