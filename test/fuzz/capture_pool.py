#!/usr/bin/python3
"""A WebSocket relay that records the pool protocol's messages as they pass.

Usage: capture_pool.py LISTEN_PORT POOL_PORT OUT_DIR
Listens on 127.0.0.1:LISTEN_PORT; each connection is relayed byte for byte
to the pool at 127.0.0.1:POOL_PORT. Every binary WebSocket message in
either direction is written to OUT_DIR/<path>/<direction>/<type>-<sha1>.msgpack
(path "worker" or "client", direction "up" to the pool or "down" from it,
type the message's `t`), once per distinct content. Runs until killed.
Used by capture_pool.sh to seed the fuzz corpora with real traffic.
"""
import hashlib
import os
import socket
import struct
import sys
import threading

import msgpack


def frames(buf: bytearray):
    """Yields (fin, opcode, payload) of each whole frame at the front of buf."""
    while len(buf) >= 2:
        fin = buf[0] & 0x80
        op, masked, n, off = buf[0] & 0x0F, buf[1] & 0x80, buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return
            n, off = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return
            n, off = struct.unpack(">Q", buf[2:10])[0], 10
        key = b""
        if masked:
            key, off = buf[off:off + 4], off + 4
        if len(buf) < off + n:
            return
        body = bytes(buf[off:off + n])
        del buf[:off + n]
        if key:
            body = bytes(b ^ key[i % 4] for i, b in enumerate(body))
        yield fin, op, body


def record(out: str, path: str, direction: str, body: bytes) -> None:
    try:
        m = msgpack.unpackb(body, raw=False, strict_map_key=False)
        kind = str(m.get("t", "none"))
        # Variants worth a seed of their own: members, resumed tasks, failures.
        items = m.get("items") if isinstance(m.get("items"), list) else []
        for key in ("group", "checkpoint", "error"):
            if any(isinstance(i, dict) and key in i for i in items):
                kind += "_" + key
                break
    except Exception:  # not ours to judge: keep it as it came
        kind = "raw"
    kind = "".join(c for c in kind if c.isalnum() or c == "_")[:32] or "none"
    folder = os.path.join(out, path, direction)
    os.makedirs(folder, exist_ok=True)
    name = f"{kind}-{hashlib.sha1(body).hexdigest()[:12]}.msgpack"
    with open(os.path.join(folder, name), "wb") as f:
        f.write(body)


def pump(src: socket.socket, dst: socket.socket, out: str, path: list, direction: str) -> None:
    buf = bytearray()
    fragments = b""
    handshake = True
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            dst.sendall(chunk)
            buf += chunk
            if handshake:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                head = bytes(buf[:end]).decode("latin-1")
                if direction == "up":
                    path[0] = head.split(" ")[1].strip("/") or "root"
                del buf[:end + 4]
                handshake = False
            for fin, op, body in frames(buf):
                if op in (0, 1, 2):  # data, possibly in fragments; not control frames
                    fragments += body
                    if fin:
                        record(out, path[0], direction, fragments)
                        fragments = b""
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main() -> int:
    listen_port, pool_port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(64)
    while True:
        client, _ = server.accept()
        pool = socket.create_connection(("127.0.0.1", pool_port))
        path = ["unknown"]
        threading.Thread(target=pump, args=(client, pool, out, path, "up"), daemon=True).start()
        threading.Thread(target=pump, args=(pool, client, out, path, "down"), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
