#!/usr/bin/env python3
"""Sends raw WebSocket frames to a server and reports how it answers.

Usage: ws_raw.py HOST PORT PATH HEX_PAYLOAD|zeros:N [opcode]
Prints "closed CODE" when the server closes, "open" if it is still open after
the timeout. Used by tests that need malformed or oversize frames, which no
well-behaved client library will send.
"""
import base64
import os
import socket
import struct
import sys


def frame(payload: bytes, opcode: int) -> bytes:
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def main() -> int:
    host, port, path, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    # "zeros:N" stands for N zero bytes (too long for a command line in hex).
    payload = bytes(int(spec[6:])) if spec.startswith("zeros:") else bytes.fromhex(spec)
    opcode = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    s = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            print("refused")
            return 0
        buf += chunk
    if b" 101 " not in buf.split(b"\r\n", 1)[0]:
        print("refused", buf.split(b"\r\n", 1)[0].decode())
        return 0
    buf = buf.split(b"\r\n\r\n", 1)[1]
    s.sendall(frame(payload, opcode))
    try:
        while True:
            while len(buf) >= 2:
                op, n = buf[0] & 0x0F, buf[1] & 0x7F
                off = 2
                if n == 126:
                    n, off = struct.unpack(">H", buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack(">Q", buf[2:10])[0], 10
                if len(buf) < off + n:
                    break
                body, buf = buf[off:off + n], buf[off + n:]
                if op == 8:
                    code = struct.unpack(">H", body[:2])[0] if len(body) >= 2 else 1005
                    print("closed", code)
                    return 0
            chunk = s.recv(65536)
            if not chunk:
                print("closed 1006")
                return 0
            buf += chunk
    except socket.timeout:
        print("open")
    return 0


if __name__ == "__main__":
    sys.exit(main())
