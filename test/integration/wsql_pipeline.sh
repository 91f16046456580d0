#!/usr/bin/env bash
# Requests pipelined on one WebSocket are answered in order, writes after
# they are committed, and each read sees every write sent before it.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create","table":"p","columns":{"i":"INTEGER"}}' "$ALL" runs >/dev/null

timeout 60 python3 - "$PORT" "$ALL" >"$TMP/ws.out" <<'PY' || fail "pipelined exchange: $(tail -3 "$TMP/ws.out")"
import json, os, socket, struct, sys
port, cap = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(("GET /runs?cap=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % cap).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
buf = buf.split(b"\r\n\r\n", 1)[1]
def frame(payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
out = b""
for k in range(300):  # insert k, then count: the count must be k + 1
    out += frame(json.dumps({"id": 2 * k, "op": "insert", "table": "p", "row": {"i": k}}).encode())
    out += frame(json.dumps({"id": 2 * k + 1, "op": "count", "table": "p"}).encode())
s.sendall(out)  # everything at once: nothing waits for an answer
def recv():
    global buf
    while True:
        if len(buf) >= 2:
            n, off = buf[1] & 0x7f, 2
            if n == 126:
                n, off = struct.unpack(">H", buf[2:4])[0], 4
            if len(buf) >= off + n:
                payload, buf = buf[off:off + n], buf[off + n:]
                return json.loads(payload)
        buf += s.recv(65536)
for j in range(600):
    a = recv()
    assert a["id"] == j, (j, a)
    if j % 2:
        assert a["count"] == j // 2 + 1, (j, a)
    else:
        assert a["changes"] == 1, (j, a)
print("ok")
PY
grep -qx ok "$TMP/ws.out" || fail "pipelined answers: $(cat "$TMP/ws.out")"
curl -s "$HTTP/metrics" | awk '/^wsql_commits_total/ {exit !($2 < 300)}' || fail "no group commit: one commit per write"
server_alive
