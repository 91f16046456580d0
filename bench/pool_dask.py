"""bench/pool.sh's baseline: its two pool workloads on Dask distributed.

    /usr/bin/python3 bench/pool_dask.py LIBPOOL_BUSY.so NOOP_N BUSY_N

A LocalCluster of 2 worker processes with one thread each (what wpool gets:
2 one-slot workers), started before the clock runs, as wpool's are:
  1. NOOP_N no-op tasks: from client.map to every result held (in the
     workers' memory: Dask does not store results durably, wpool does);
  2. BUSY_N tasks of busy10ms's loop, the same C function through ctypes.
Prints one JSON line: {"noop_n", "noop_s", "busy_n", "busy_s"}.

Debian's python3-distributed; run with /usr/bin/python3 (a pyenv python on
PATH cannot import Debian's modules).
"""

import json
import logging
import sys
import time


def noop(x):
    return None


def busy(seed, lib):
    # Loaded once per worker process: cached on a module every process has.
    f = getattr(sys, "_pool_busy_work", None)
    if f is None:
        import ctypes

        f = ctypes.CDLL(lib).pool_busy_work
        f.restype = ctypes.c_ulonglong
        f.argtypes = []
        sys._pool_busy_work = f
    return f()


def timed(client, fn, n, *args):
    from distributed import wait

    t0 = time.perf_counter()
    futures = client.map(fn, range(n), *[[a] * n for a in args], pure=False)
    wait(futures)
    took = time.perf_counter() - t0
    errors = sum(f.status != "finished" for f in futures)
    if errors:
        sys.exit(f"pool_dask: error: {errors} of {n} tasks did not finish")
    del futures
    return took


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    lib, noop_n, busy_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        # Warm-up: each worker has unpickled both functions and loaded the
        # library before timing, as wpool's workers have fetched the kernel.
        timed(client, noop, 100)
        timed(client, busy, 4, lib)
        noop_s = timed(client, noop, noop_n)
        busy_s = timed(client, busy, busy_n, lib)
    print(json.dumps({"noop_n": noop_n, "noop_s": noop_s, "busy_n": busy_n, "busy_s": busy_s}))


if __name__ == "__main__":
    main()
