# One million datasets stream through `wrun -j 2` in bounded memory.
. "$(dirname "$0")/common.sh"
n=1000000
[ "${W_SANITIZE:-0}" = 1 ] && n=100000  # ASan is ~10x slower; the bound is what is checked
python3 -c "
import sys, struct
out = bytearray()
for i in range($n):
    out += b'\x81\xa1x\xce' + struct.pack('>I', i)
sys.stdout.buffer.write(out)" >"$TMP/in"
/usr/bin/time -f '%M' -o "$TMP/rss" wrun -k "$W_KERNELS/noop.so" -j 2 -f msgpack --no-input -q <"$TMP/in" >"$TMP/out"
count=$(python3 -c "
import sys
d = open('$TMP/out','rb').read()
print(d.count(b'\xa6worker'))")
[ "$count" -eq "$n" ] || fail "expected $n results, got $count"
rss=$(cat "$TMP/rss")
limit=40000
[ "${W_SANITIZE:-0}" = 1 ] && limit=400000
[ "$rss" -lt $limit ] || fail "peak RSS ${rss} KB (limit ${limit} KB)"
echo "peak RSS ${rss} KB for $n datasets"
