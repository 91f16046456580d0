"""bench/pool.sh: time from a worker's start to its first stored result.

    python3 bench/pool_first.py STATUS_URL CAMPAIGN WRUN [ARGS...]

Starts WRUN ARGS (a `wrun URL` worker) and polls the pool's GET /api/status
every millisecond until CAMPAIGN counts a done task; prints the elapsed
milliseconds, then stops the worker it started (SIGTERM: it drains). A
status request costs the pool microseconds and this process no fork, so the
figure is not the cost of the polling (as a `wpool status` loop's would be).
Gives up after 10 s. Standard library only.
"""

import json
import subprocess
import sys
import time
import urllib.request


def done(url, campaign):
    with urllib.request.urlopen(url, timeout=2) as r:
        status = json.load(r)
    return any(c["name"] == campaign and c["done"] > 0 for c in status["campaigns"])


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: pool_first.py STATUS_URL CAMPAIGN WRUN [ARGS...]")
    url, campaign, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    done(url, campaign)  # the pool is up and this process warm before the clock runs
    t0 = time.perf_counter()
    worker = subprocess.Popen(cmd)
    try:
        while not done(url, campaign):
            if time.perf_counter() - t0 > 10:
                sys.exit("pool_first: error: no result within 10 s")
            if worker.poll() is not None:
                sys.exit(f"pool_first: error: the worker exited ({worker.returncode})")
            time.sleep(0.001)
        print(f"{(time.perf_counter() - t0) * 1000:.1f}")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


if __name__ == "__main__":
    main()
