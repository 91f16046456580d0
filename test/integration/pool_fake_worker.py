#!/usr/bin/python3
"""Speaks w-protocol(7) as a worker, byte by byte, to test the pool's side of
checkpoints without a real wrun.

Usage: pool_fake_worker.py PORT a        (prints the task id)
       pool_fake_worker.py PORT b TASK
With one task queued on the pool and no other worker connected:
  a. worker "fa" takes the task, checkpoints it twice and disconnects;
  b. worker "fb" checkpoints a task it does not hold (must be ignored), is
     handed the task again carrying the latest checkpoint, and sends its
     result; prints "ok".
Exits 1 with what went wrong otherwise.
Needs Debian's python3-msgpack (run with /usr/bin/python3).
"""
import base64
import os
import socket
import struct
import sys

import msgpack


class Conn:
    """One WebSocket connection carrying msgpack maps in binary frames."""

    def __init__(self, port: int, path: str):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(4096)
        status, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            raise SystemExit(f"handshake refused: {status[:80]!r}")

    def send(self, message: dict) -> None:
        payload = msgpack.packb(message, use_bin_type=True)
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x82])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.s.sendall(head + mask + body)

    def receive(self) -> dict:
        while True:
            if len(self.buf) >= 2:
                op, n, off = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
                if n == 126:
                    n, off = struct.unpack(">H", self.buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
                if len(self.buf) >= off + n:
                    body, self.buf = self.buf[off:off + n], self.buf[off + n:]
                    if op == 8:
                        raise SystemExit(f"closed by the pool: {body[2:]!r}")
                    if op == 2:
                        return msgpack.unpackb(body, raw=False)
                    continue
            chunk = self.s.recv(65536)
            if not chunk:
                raise SystemExit("connection lost")
            self.buf += chunk

    def expect(self, kind: str) -> dict:
        while True:
            m = self.receive()
            if m.get("t") == kind:
                return m
            if m.get("t") == "error":
                raise SystemExit(f"pool error: {m}")

    def close(self) -> None:
        self.s.close()


def hello(port: int, wid: str) -> Conn:
    c = Conn(port, "/worker")
    c.send({"t": "hello", "v": 1, "id": wid, "name": wid, "platform": "linux-x86_64",
            "slots": 1, "memory": 64, "score": 1000, "version": "test"})
    c.expect("welcome")
    return c


def phase_a(port: int) -> int:
    a = hello(port, "fa")
    tasks = a.expect("tasks")["items"]
    if len(tasks) != 1 or "checkpoint" in tasks[0]:
        print(f"first dispatch: {tasks}")
        return 1
    task = tasks[0]["id"]
    a.send({"t": "checkpoint", "task": task, "data": b"state-1"})
    a.send({"t": "checkpoint", "task": task, "data": b"state-2\x00"})
    a.send({"t": "heartbeat"})
    a.close()  # a lost worker: its lease goes back to the queue
    print(task)
    return 0


def phase_b(port: int, task: int) -> int:
    b = hello(port, "fb")
    b.send({"t": "checkpoint", "task": task + 1000, "data": b"not mine"})
    tasks = b.expect("tasks")["items"]
    if len(tasks) != 1 or tasks[0]["id"] != task or tasks[0].get("checkpoint") != b"state-2\x00":
        print(f"re-dispatch lacks the latest checkpoint: {tasks}")
        return 1
    b.send({"t": "results", "items": [{"task": task, "output": {"resumed": True}, "ms": 1.0}]})
    b.send({"t": "heartbeat"})
    b.close()
    print("ok")
    return 0


def main() -> int:
    port, phase = int(sys.argv[1]), sys.argv[2]
    return phase_a(port) if phase == "a" else phase_b(port, int(sys.argv[3]))


if __name__ == "__main__":
    sys.exit(main())
