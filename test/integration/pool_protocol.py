#!/usr/bin/python3
"""Sends every field of every worker and client message, with every wrong
type, to a live wpool (w-protocol(7)), and checks how it answers.

Usage: pool_protocol.py PORT
For each message type the pool reads, and each of its fields, the script
opens a fresh connection (says hello first, except when hello itself is
under test), sends the message with that one field replaced by a value of a
wrong type (string, integer, float, boolean, nil, array, map, bin, a huge
integer, a negative one, a 70,000-byte string, a string that is not UTF-8)
or left out when it is required, and expects:
  - an `error` message whose text names the message type and the field
    ("results: items[0].error: expected a string, got an integer");
  - the connection closed by the pool;
  - the pool still serving the next connection.
Values a field legitimately accepts (7 is a fine slot count) are not sent.
Prints each case that went wrong and exits 1 if any did, 0 otherwise.
Needs Debian's python3-msgpack (run with /usr/bin/python3).
"""
import base64
import os
import socket
import struct
import sys

import msgpack

# One value of each kind a field may wrongly carry.
WRONG = {
    "string": "x",
    "int": 7,
    "float": 1.5,
    "bool": True,
    "nil": None,
    "array": [1, "a"],
    "map": {"a": 1},
    "bin": b"\x00\x01",
    "huge": 2**64 - 1,
    "negative": -5,
    "long": "x" * 70000,
    "badutf8": "\x00BADUTF8\x00",  # sent as a msgpack str holding invalid UTF-8
}
# The packed placeholder, and what replaces it on the wire: str "\xff\xfeA".
BADUTF8 = (b"\xa9\x00BADUTF8\x00", b"\xa3\xff\xfeA")
ALL = set(WRONG)


class Closed(Exception):
    pass


class Conn:
    """One WebSocket connection carrying msgpack maps in binary frames."""

    def __init__(self, port: int, path: str):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=2)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise Closed("handshake: connection closed")
            self.buf += chunk
        status, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            raise Closed(f"handshake refused: {status[:80]!r}")

    def send(self, message) -> None:
        payload = message if isinstance(message, bytes) else msgpack.packb(message,
                                                                           use_bin_type=True)
        payload = payload.replace(*BADUTF8)
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x82])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self):
        """The next message (a dict), or raises Closed with the close code."""
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
                        code = struct.unpack(">H", body[:2])[0] if len(body) >= 2 else 1005
                        raise Closed(f"closed {code}")
                    if op == 2:
                        return msgpack.unpackb(body, raw=False, strict_map_key=False,
                                           unicode_errors="replace")
                    continue
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                raise Closed("timeout") from None
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed("closed 1006")
            self.buf += chunk

    def close(self) -> None:
        self.s.close()


def worker_hello(wid: str) -> dict:
    return {"t": "hello", "v": 1, "id": wid, "name": wid, "platform": "linux-x86_64",
            "slots": 1, "memory": 64, "score": 1000.0, "coupled": True, "version": "test",
            "key": "", "cap": "", "worker_key": "k" * 64}


CLIENT_HELLO = {"t": "hello", "v": 1, "role": "client", "key": "", "cap": ""}
# Stands for a task the connection holds (a lease the pool handed it), so
# that a bad field meets the code that handles a real result.
HELD = 424242
SHA = "0" * 64

# (endpoint, base message, field path, kinds the field accepts, required)
# A path "items[0].error" replaces that field of the first item.
CASES = []


def fields(endpoint, base, spec):
    for path, accepts, required in spec:
        CASES.append((endpoint, base, path, accepts, required))


RESULT = {"task": HELD, "output": {"y": 1}, "ms": 1.0}
fields("worker", {"t": "results", "items": [dict(RESULT)]}, [
    ("items", set(), True),
    ("items[0]", set(), False),
    ("items[0].task", {"int"}, True),
    ("items[0].ms", {"int", "float"}, False),
    ("items[0].rank", {"int"}, False),
    ("items[0].group", {"string"}, False),
])
fields("worker", {"t": "results", "items": [{"task": HELD, "error": "boom", "ms": 1}]}, [
    ("items[0].error", {"string"}, False),
])
fields("worker", {"t": "checkpoint", "task": HELD, "data": b"state"}, [
    ("task", {"int"}, True),
    ("data", {"bin"}, True),
])
fields("worker", {"t": "fetch", "kernel": SHA}, [("kernel", set(), True)])
fields("worker", {"t": "bye", "returned": [HELD]}, [
    ("returned", set(), False),
    ("returned[0]", {"int"}, False),
])

fields("worker", worker_hello("w"), [
    ("t", set(), True),
    ("v", set(), True),
    ("id", {"string"}, False),
    ("name", {"string"}, False),
    ("platform", {"string"}, False),
    ("slots", {"int"}, False),
    ("memory", {"int"}, False),
    ("score", {"int", "float"}, False),
    ("coupled", {"bool"}, False),
    ("version", {"string"}, False),
    ("key", {"string"}, False),
    ("cap", {"string"}, False),
    ("worker_key", set(), False),  # "x" is too short to be a key
])
fields("client", dict(CLIENT_HELLO), [
    ("t", set(), True),
    ("v", set(), True),
    ("role", {"string"}, False),
    ("key", {"string"}, False),
    ("cap", {"string"}, False),
])
fields("client", {"t": "kernel_put", "name": "k", "platform": "linux-x86_64", "data": b"\x7f",
                  "campaign": "nope"}, [
    ("name", {"string"}, False),
    ("platform", {"string"}, False),
    ("data", {"bin"}, True),
    ("campaign", {"string"}, False),
])
fields("client", {"t": "open", "name": "nope", "kernel": SHA, "kernel_wasm": "", "static": None,
                  "timeout_ms": 1000, "max_attempts": 3, "replicas": 1, "quorum": 0,
                  "priority": 0, "group": 1, "once_key": "", "quorum_tolerance": 0.0,
                  "resumable": True}, [
    ("name", {"string"}, True),
    ("kernel", set(), False),
    ("kernel_wasm", set(), False),
    ("timeout_ms", {"int"}, False),
    ("max_attempts", {"int"}, False),
    ("replicas", {"int"}, False),
    ("quorum", set(), False),
    ("priority", {"int", "negative"}, False),
    ("group", {"int"}, False),
    ("once_key", {"string"}, False),
    ("quorum_tolerance", set(), False),  # 7, 1.5, -5, 2^64 are out of 0..1
    ("resumable", {"bool"}, False),
])
fields("client", {"t": "datasets", "campaign": 1, "items": [{"x": 1}]}, [
    ("campaign", {"int"}, True),
    ("items", set(), True),
    ("items[0]", {"map"}, False),
])
fields("client", {"t": "status", "campaign": "nope"}, [("campaign", {"string"}, False)])
fields("client", {"t": "results", "campaign": "nope", "since": 0, "limit": 10, "after": -1}, [
    ("campaign", {"string"}, True),
    ("since", {"int"}, False),
    ("limit", {"int"}, False),
    ("after", {"int"}, False),
])
fields("client", {"t": "control", "action": "pause", "campaign": "nope"}, [
    ("action", set(), True),
    ("campaign", {"string"}, True),
])
fields("client", {"t": "unflag", "worker": "k-nosuchworker"}, [("worker", {"string"}, True)])


def held(value, task: int):
    """value with every HELD replaced by `task`."""
    if isinstance(value, dict):
        return {k: held(v, task) for k, v in value.items()}
    if isinstance(value, list):
        return [held(v, task) for v in value]
    return task if value == HELD and not isinstance(value, bool) else value


def replaced(base: dict, path: str, value, drop: bool) -> dict:
    """A copy of base with the field at `path` set to value (or removed)."""
    msg = msgpack.unpackb(msgpack.packb(base, use_bin_type=True), raw=False)
    parts = path.replace("]", "").replace("[", ".").split(".")
    node = msg
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    if isinstance(node, list):
        if drop:
            del node[int(last)]
        else:
            node[int(last)] = value
    elif drop:
        node.pop(last, None)
    else:
        node[last] = value
    return msg


def check(port: int, endpoint: str, base: dict, path: str, value, drop: bool) -> str:
    """Runs one case; returns "" when the pool answered as it should."""
    msg = replaced(base, path, value, drop)
    c = Conn(port, "/" + endpoint)
    try:
        if base.get("t") != "hello":
            c.send(worker_hello(f"p{os.getpid()}") if endpoint == "worker" else CLIENT_HELLO)
            while c.receive().get("t") != "welcome":
                pass
        task = 1
        if endpoint == "worker" and base.get("t") != "hello":
            # A worker is sent tasks after welcome while the campaign has some.
            c.s.settimeout(0.5)
            try:
                while True:
                    m = c.receive()
                    if m.get("t") == "tasks":
                        task = m["items"][0]["id"]
                        break
            except Closed:
                pass
            c.s.settimeout(2)
        c.send(held(msg, task))
        while True:
            m = c.receive()
            if m.get("t") == "error":
                break
        text = str(m.get("message", ""))
        kind = base.get("t") if path != "t" else ""
        want = f"{kind}: {path}" if kind else "t:"
        if want not in text:
            return f"error does not name '{want}': {text!r}"
        try:
            while True:
                c.receive()
        except Closed as e:
            if str(e) == "timeout":
                return f"answered {text!r} but did not close the connection"
        return ""
    except Closed as e:
        # Before hello a connection may send 64 KiB: a longer hello is
        # closed as too big (1009), which is the right answer too.
        if base.get("t") == "hello" and value is WRONG["long"] and "1009" in str(e):
            return ""
        return f"no error message ({e})"
    finally:
        c.close()


def alive(port: int) -> bool:
    """The pool answers a client, including status and workers (which show
    what earlier cases may have left in it as JSON)."""
    try:
        c = Conn(port, "/client")
        c.send(CLIENT_HELLO)
        ok = c.receive().get("t") == "welcome"
        c.send({"t": "status"})
        ok = ok and c.receive().get("t") == "status"
        c.send({"t": "workers"})
        ok = ok and c.receive().get("t") == "workers"
        c.close()
        return ok
    except (OSError, Closed):
        return False


def main() -> int:
    port = int(sys.argv[1])
    failures, sent = 0, 0
    for endpoint, base, path, accepts, required in CASES:
        kinds = [(k, WRONG[k], False) for k in sorted(ALL - accepts)]
        if required:
            kinds.append(("missing", None, True))
        for kind, value, drop in kinds:
            name = f"{endpoint} {base['t']}.{path} = {kind}"
            sent += 1
            try:
                why = check(port, endpoint, base, path, value, drop)
            except (OSError, Closed) as e:
                why = f"cannot talk to the pool: {e}"
            if why:
                failures += 1
                print(f"FAIL {name}: {why}", flush=True)
            if not alive(port):
                print(f"FAIL {name}: the pool is gone after it", flush=True)
                print(f"{sent} cases sent before the pool died; {failures} failed")
                return 1
    print(f"{sent} cases: {sent - failures} answered with an error naming the field, "
          f"{failures} failed; the pool lives")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
