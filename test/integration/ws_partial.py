#!/usr/bin/env python3
"""Unfinished WebSocket messages: how much does a server hold for them?

Usage: ws_partial.py HOST PORT PATH CONNS ANNOUNCED SENT HOLD_S

Opens CONNS WebSockets to PATH; on each, sends the header of one binary
frame announcing ANNOUNCED payload bytes, then SENT bytes of it (never the
rest), and keeps the connection HOLD_S seconds without finishing it. Then
prints one line per connection: "closed CODE" if the server closed it (1006:
without a close frame), "open" if it was still open. Between sending and
holding it prints "sent" on a line of its own (flushed), so the caller can
measure the server while the messages are held.
"""
import os
import select
import socket
import struct
import sys
import time


def connect(host: str, port: int, path: str) -> socket.socket:
    s = socket.create_connection((host, port), timeout=10)
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit(f"ws_partial: {path}: closed during the upgrade")
        head += chunk
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        status = head.split(b"\r\n", 1)[0].decode()
        raise SystemExit(f"ws_partial: {path}: refused: {status}")
    return s


def close_code(s: socket.socket) -> str:
    """The server's close frame if one came, "closed 1006" on a bare close."""
    s.setblocking(False)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (BlockingIOError, ConnectionResetError):
        pass
    while len(data) >= 2:
        op, n, off = data[0] & 0x0F, data[1] & 0x7F, 2
        if n == 126:
            n, off = struct.unpack(">H", data[2:4])[0], 4
        elif n == 127:
            n, off = struct.unpack(">Q", data[2:10])[0], 10
        if op == 8:
            body = data[off:off + n]
            return "closed %d" % (struct.unpack(">H", body[:2])[0] if len(body) >= 2 else 1005)
        data = data[off + n:]
    return "closed 1006"


def main() -> int:
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    conns, announced, sent, hold = (int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
                                    float(sys.argv[7]))
    socks = [connect(host, port, path) for _ in range(conns)]
    # A masked binary frame with a zero key: the payload goes as is.
    header = bytes([0x82, 0x80 | 127]) + struct.pack(">Q", announced) + bytes(4)
    chunk = bytes(64 * 1024)
    for s in socks:
        try:
            s.sendall(header)
            left = sent
            while left > 0:
                n = min(left, len(chunk))
                s.sendall(chunk[:n])
                left -= n
        except OSError:
            pass  # closed by the server: reported below
    print("sent", flush=True)
    end = time.monotonic() + hold
    closed = {}
    while len(closed) < len(socks) and time.monotonic() < end:
        live = [s for s in socks if s not in closed]
        ready, _, _ = select.select(live, [], [], max(0.0, end - time.monotonic()))
        for s in ready:
            closed[s] = close_code(s)
    for s in socks:
        print(closed.get(s, "open"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
