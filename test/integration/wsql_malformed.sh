#!/usr/bin/env bash
# Malformed JSON and msgpack, over HTTP and WebSocket, are answered with
# bad_request and the server lives on.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)

for body in '{"op":' '{"op":"select"' 'null' '[1,2,3]' '{"op":"sql","sql":42}' '{"op":"select","table":"t","where":{"$b64":"!!"}}'; do
  rpc "$body" | jq -e '(if type == "array" then .[0] else . end).error.code == "bad_request"' >/dev/null || fail "HTTP: $body"
done
printf '\x82\xa2op\xc1\xc1' >"$TMP/bad.mp"
curl -s -X POST "$HTTP/rpc?cap=$ALL" --data-binary @"$TMP/bad.mp" -o "$TMP/ans.mp"
[ -s "$TMP/ans.mp" ] || fail "no answer to malformed msgpack"
printf '\xdf\xff\xff\xff\xff' >"$TMP/huge.mp"   # claims 4 billion entries
curl -s -X POST "$HTTP/rpc?cap=$ALL" --data-binary @"$TMP/huge.mp" -o /dev/null
server_alive

# Over WebSocket: a text frame of broken JSON, a binary frame of broken
# msgpack, then a good request on the same connection still works.
timeout 30 python3 - "$PORT" "$ALL" >"$TMP/ws.out" <<'PY' || fail "WebSocket exchange: $(cat "$TMP/ws.out")"
import os, socket, struct, sys
port, cap = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("GET /?cap=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: wsql\r\n\r\n" % cap).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
assert b" 101 " in buf.split(b"\r\n")[0], buf
buf = buf.split(b"\r\n\r\n", 1)[1]
def send(opcode, payload):
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
def recv():
    global buf
    while True:
        if len(buf) >= 2:
            n, off = buf[1] & 0x7f, 2
            if n == 126:
                n, off = struct.unpack(">H", buf[2:4])[0], 4
            if len(buf) >= off + n:
                payload, buf = buf[off:off + n], buf[off + n:]
                return payload
        buf += s.recv(65536)
send(1, b'{"op": "databases"')
print(recv().decode())
send(2, b'\x82\xa2op\xc1')
print(recv().hex())
send(1, b'{"op":"databases","id":5}')
print(recv().decode())
PY
sed -n 1p "$TMP/ws.out" | jq -e '.error.code == "bad_request"' >/dev/null || fail "WS JSON: $(cat "$TMP/ws.out")"
sed -n 2p "$TMP/ws.out" | grep -q "6261645f72657175657374" || fail "WS msgpack: $(cat "$TMP/ws.out")"  # "bad_request"
sed -n 3p "$TMP/ws.out" | jq -e '.id == 5 and .databases == []' >/dev/null || fail "WS after errors: $(cat "$TMP/ws.out")"
server_alive
