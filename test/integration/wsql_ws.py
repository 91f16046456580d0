#!/usr/bin/env python3
"""A minimal wsql WebSocket client for tests that need raw requests.

Usage: wsql_ws.py [--timeout S] [--binary] URL MESSAGE...

URL is ws://HOST:PORT/DB?cap=CAP. Each MESSAGE (JSON text, or with --binary
a file of msgpack bytes, or @FILE for a file of JSON lines, one message a
line) is sent as one frame, all at once (pipelined). Each answer is printed on
a line as "MS<TAB>ANSWER": the milliseconds from the first send until it
arrived, then the answer (JSON text; hex for binary frames). If the server
closes first, "closed CODE REASON" is printed and the exit code is 3; if an
answer takes longer than --timeout seconds (default 60), "timeout" and 4.
Standard library only, like ws_raw.py, so the tests need no packages.
"""
import base64
import os
import socket
import struct
import sys
import time
from urllib.parse import urlsplit


def frame(payload: bytes, opcode: int) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack(">Q", n)
    # XOR through int.from_bytes: fast enough for megabyte messages.
    reps = mask * (n // 4 + 1)
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(reps[:n], "big")).to_bytes(n, "big")
    return head + mask + masked


class Conn:
    def __init__(self, url: str, timeout: float):
        u = urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {u.hostname}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Protocol: wsql\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buf += chunk
        status = self.buf.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise ConnectionError(status.decode(errors="replace"))
        self.buf = self.buf.split(b"\r\n\r\n", 1)[1]

    def recv(self):
        """(opcode, payload) of the next whole message."""
        parts, first_op = [], None
        while True:
            while len(self.buf) < 2 or len(self.buf) < self._need():
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    return 8, struct.pack(">H", 1006)
                self.buf += chunk
            fin, op, n, off = self.buf[0] & 0x80, self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if n == 126:
                n, off = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
            body, self.buf = self.buf[off:off + n], self.buf[off + n:]
            if op == 9:  # ping: answer, keep reading
                self.sock.sendall(frame(body, 10))
                continue
            if op in (8, 10):
                if op == 8:
                    return 8, body
                continue
            if first_op is None:
                first_op = op
            parts.append(body)
            if fin:
                return first_op, b"".join(parts)

    def _need(self) -> int:
        n = self.buf[1] & 0x7F
        if n == 126:
            return 4 + (struct.unpack(">H", self.buf[2:4])[0] if len(self.buf) >= 4 else 1 << 30)
        if n == 127:
            return 10 + (struct.unpack(">Q", self.buf[2:10])[0] if len(self.buf) >= 10 else 1 << 30)
        return 2 + n


def main() -> int:
    args = sys.argv[1:]
    timeout, binary = 60.0, False
    while args and args[0].startswith("--"):
        if args[0] == "--timeout":
            timeout, args = float(args[1]), args[2:]
        elif args[0] == "--binary":
            binary, args = True, args[1:]
        else:
            print("unknown option", args[0], file=sys.stderr)
            return 2
    url, specs = args[0], args[1:]
    messages = []
    for spec in specs:
        if binary:
            with open(spec, "rb") as f:
                messages.append((f.read(), 2))
        elif spec.startswith("@"):
            with open(spec[1:], "rb") as f:
                messages += [(line.rstrip(b"\n"), 1) for line in f if line.strip()]
        else:
            messages.append((spec.encode(), 1))
    conn = Conn(url, timeout)
    t0 = time.monotonic()
    conn.sock.sendall(b"".join(frame(m, op) for m, op in messages))
    for _ in messages:
        try:
            op, body = conn.recv()
        except socket.timeout:
            print("timeout", flush=True)
            return 4
        ms = int((time.monotonic() - t0) * 1000)
        if op == 8:
            code = struct.unpack(">H", body[:2])[0] if len(body) >= 2 else 1005
            print("closed", code, body[2:].decode(errors="replace"), flush=True)
            return 3
        print(f"{ms}\t{body.decode() if op == 1 else body.hex()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
