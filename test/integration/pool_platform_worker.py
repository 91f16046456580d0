#!/usr/bin/python3
"""A worker that says it is of platform PLATFORM and runs an echo kernel of
its own: each task's output is its input, with every float nudged by MODE:
  same     unchanged (an honest worker of that platform)
  ulp      the next float up (a browser whose floats differ in the last bit)
  cheat    +1 (a cheater)
  fail     no output: every task fails ("broken")
  oversize answers its tasks with one message of 17 MiB, is closed by the
           pool, and connects again, for ever
  badtype  answers its tasks with a results message whose items are not
           maps, is closed, and connects again, for ever
Usage: pool_platform_worker.py PORT ID PLATFORM MODE [SLOTS]   (runs until killed)
Needs Debian's python3-msgpack (run with /usr/bin/python3).
"""
import math
import sys
import time

from pool_fake_worker import Conn


def nudge(value, mode):
    if isinstance(value, float):
        if mode == "ulp":
            return math.nextafter(value, math.inf)
        if mode == "cheat":
            return value + 1
        return value
    if isinstance(value, dict):
        return {k: nudge(v, mode) for k, v in value.items()}
    if isinstance(value, list):
        return [nudge(v, mode) for v in value]
    return value


def misbehave(port: int, wid: str, platform: str, mode: str, slots: int) -> None:
    """Breaks the protocol once per connection, for ever."""
    while True:
        try:
            c = Conn(port, "/worker")
            c.send({"t": "hello", "v": 1, "id": wid, "name": wid, "platform": platform,
                    "slots": slots, "memory": 64, "score": 1000, "version": "test"})
            c.expect("welcome")
            while c.receive().get("t") != "tasks":
                pass
            if mode == "oversize":
                c.send({"t": "results", "items": [], "pad": b"\0" * (17 << 20)})
            else:
                c.send({"t": "results", "items": [1, 2, 3]})
            while True:
                c.receive()
        except (SystemExit, OSError):
            time.sleep(0.05)


def main() -> int:
    port, wid, platform, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    slots = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    if mode in ("oversize", "badtype"):
        misbehave(port, wid, platform, mode, slots)
    c = Conn(port, "/worker")
    c.send({"t": "hello", "v": 1, "id": wid, "name": wid, "platform": platform, "slots": slots,
            "memory": 64, "score": 1000, "version": "test"})
    c.expect("welcome")
    while True:
        m = c.receive()
        if m.get("t") == "campaign":
            continue
        if m.get("t") != "tasks":
            continue
        items = []
        for task in m["items"]:
            if mode == "fail":
                items.append({"task": task["id"], "error": "broken", "ms": 1.0})
            else:
                items.append({"task": task["id"], "output": nudge(task["input"], mode), "ms": 1.0})
        c.send({"t": "results", "items": items})


if __name__ == "__main__":
    sys.exit(main())
