#!/usr/bin/python3
"""Says hello on /worker with a capability and asks for one kernel artifact.

Usage: pool_fetch_as.py PORT CAP SHA256
Prints "artifact N" (its size) when the pool sends the kernel, or
"refused: MESSAGE" when it answers with an error or closes the connection.
Needs Debian's python3-msgpack (run with /usr/bin/python3).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pool_protocol import Closed, Conn, worker_hello  # noqa: E402


def main() -> int:
    port, cap, sha = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    conn = Conn(port, "/worker")
    hello = worker_hello("fetcher")
    hello["cap"] = cap
    try:
        conn.send(hello)
        conn.send({"t": "fetch", "kernel": sha})
        while True:
            m = conn.receive()
            if m.get("t") == "artifact":
                print(f"artifact {len(m.get('data', b''))}")
                return 0
            if m.get("t") == "error":
                print(f"refused: {m.get('message')}")
                return 0
    except Closed as e:
        print(f"refused: {e}")
        return 0
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
