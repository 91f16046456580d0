#!/usr/bin/python3
"""Scripted workers speaking w-protocol(7) byte by byte, to test the pool's
side of coupled campaigns (gang scheduling, group runs, abort) without wrun.

Usage: pool_group_worker.py PORT SCENARIO [ARGS]
Each scenario expects a K=2 campaign on the pool and no other worker; it
prints "ok" (or what the shell needs) and exits 0, or exits 1 saying what
went wrong:
  pair N      two one-slot workers run N tasks; members of one run share a
              group id, ranks 0 and 1, size 2; no task is prefetched.
  wait        one free slot: nothing is dispatched; a second worker joins and
              the run starts; then a lone two-slot worker gets both ranks.
  abort       rank 0 errors: the other worker gets abort, the task is
              re-dispatched with a new group id and completes; a late result
              of the aborted run is ignored.
  fail        every run errors: the task fails after max_attempts runs.
  lost        a member's worker disconnects: the other gets abort, a new
              worker joins and the re-run completes.
  deadline    one member never answers: after the shared deadline the silent
              member's worker gets abort and the re-run completes.
  hold        two workers take a run, print its group id, and hold it until
              the pool goes away.
  fallback    with a group campaign and a plain one of one task, a lone
              one-slot worker runs the plain task, then waits; a second
              worker joins and the run starts.
  scores      three idle workers (scores 5000, 1000, 1100), then a task is
              submitted: the two with close scores get it.
  uncoupled   a two-slot worker whose hello says coupled=false (a browser
              that is not cross-origin isolated) gets no member, neither
              alone nor beside two one-slot workers that run the task.
Needs Debian's python3-msgpack (run with /usr/bin/python3).
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pool_fake_worker import Conn  # noqa: E402

PORT = 0
K = 2


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def worker(wid, slots=1, sig=None, score=1000, coupled=None):
    c = Conn(PORT, "/worker")
    c.wid = wid
    hello = {"t": "hello", "v": 1, "id": wid, "name": wid, "platform": "linux-x86_64",
             "slots": slots, "memory": 64, "score": score, "version": "test"}
    if coupled is not None:
        hello["coupled"] = coupled
    c.send(hello)
    welcome = c.expect("welcome")
    if sig is not None:
        check(welcome.get("sig") == sig, f"welcome sig {welcome.get('sig')!r}, want {sig!r}")
    return c


def receive_within(c, seconds):
    """The next message other than heartbeat answers, or None after `seconds`."""
    c.s.settimeout(seconds)
    try:
        return c.receive()
    except (socket.timeout, TimeoutError):
        return None
    finally:
        c.s.settimeout(10)


def members(c, want=1, seconds=10):
    """Waits for `want` member items (skipping `campaign`); returns them."""
    got = []
    deadline = time.time() + seconds
    while len(got) < want:
        m = receive_within(c, max(0.01, deadline - time.time()))
        check(m is not None, f"{c.wid}: no tasks within {seconds} s (have {got})")
        if m.get("t") == "campaign":
            check(m.get("group") == K, f"{c.wid}: campaign message without group {K}: {m}")
            continue
        check(m.get("t") == "tasks", f"{c.wid}: expected tasks, got {m}")
        for item in m["items"]:
            for key in ("id", "seq", "input", "group", "rank", "size"):
                check(key in item, f"{c.wid}: member item lacks '{key}': {item}")
            check(item["size"] == K, f"{c.wid}: size {item['size']}")
            check(item["group"].isalnum() and item["group"].isascii(),
                  f"group id not [A-Za-z0-9]: {item['group']!r}")
            got.append(item)
    return got


def expect_nothing(c, seconds):
    m = receive_within(c, seconds)
    check(m is None, f"{c.wid}: expected nothing, got {m}")


def expect_abort(c, group):
    m = receive_within(c, 15)
    check(m is not None and m.get("t") == "abort", f"{c.wid}: expected abort, got {m}")
    check(m.get("group") == group, f"{c.wid}: abort of {m.get('group')}, want {group}")
    check("rank" in m.get("reason", ""), f"abort reason does not name the rank: {m}")
    return m["reason"]


def result(c, item, output=None, error=None, group=True):
    r = {"task": item["id"], "rank": item["rank"], "ms": 1.5}
    if group:
        r["group"] = item["group"]
    if error is not None:
        r["error"] = error
    else:
        r["output"] = output if output is not None else {"rank": item["rank"], "w": c.wid}
    c.send({"t": "results", "items": [r]})


def one_run(a, b):
    """Members from a and b of one run; checks they match."""
    ma, mb = members(a)[0], members(b)[0]
    check(ma["group"] == mb["group"], f"group ids differ: {ma['group']} {mb['group']}")
    check(ma["id"] == mb["id"] and ma["input"] == mb["input"], f"members differ: {ma} {mb}")
    check(sorted([ma["rank"], mb["rank"]]) == [0, 1], f"ranks {ma['rank']} {mb['rank']}")
    return ma, mb


def pair(n):
    a, b = worker("ga", sig=os.environ.get("SIG")), worker("gb")
    seen = set()
    for _ in range(n):
        ma, mb = one_run(a, b)
        check(ma["group"] not in seen, f"group id {ma['group']} used twice")
        seen.add(ma["group"])
        # One slot each and no prefetch: nothing more until a result is in.
        expect_nothing(a, 0.3)
        expect_nothing(b, 0.3)
        result(a, ma)
        result(b, mb, group=False)  # rank alone identifies the member too
    expect_nothing(a, 0.3)
    print(*sorted(seen))
    return "ok"


def wait():
    a = worker("wa")
    expect_nothing(a, 1.5)
    b = worker("wb")
    ma, mb = one_run(a, b)
    result(a, ma)
    result(b, mb)
    # The second task's run goes to them at once; they leave with it, so it
    # runs again (a new group) on the next worker.
    one_run(a, b)
    a.close()
    b.close()
    two = worker("w2", slots=2)
    items = members(two, 2)
    check(items[0]["group"] == items[1]["group"], f"a lone worker's members differ: {items}")
    check(sorted(i["rank"] for i in items) == [0, 1], f"ranks {items}")
    for i in items:
        result(two, i)
    return "ok"


def abort():
    a, b = worker("aa"), worker("ab")
    ma, mb = one_run(a, b)
    bad, good = (a, ma), (b, mb)
    if mb["rank"] == 0:
        bad, good = (b, mb), (a, ma)
    result(bad[0], bad[1], error="boom")
    reason = expect_abort(good[0], good[1]["group"])
    check("rank 0" in reason and "boom" in reason, f"reason: {reason}")
    # A result of the aborted run, sent after the abort: ignored.
    result(good[0], good[1], output="late")
    na, nb = one_run(a, b)
    check(na["group"] != ma["group"], f"re-dispatched with the same group id {na['group']}")
    result(a, na)
    result(b, nb)
    expect_nothing(a, 0.3)
    print(ma["group"], na["group"])
    return "ok"


def fail():
    a, b = worker("fa"), worker("fb")
    groups = []
    for attempt in range(2):
        ma, mb = one_run(a, b)
        groups.append(ma["group"])
        bad = (a, ma) if ma["rank"] == attempt % 2 else (b, mb)
        good = (b, mb) if bad[0] is a else (a, ma)
        result(bad[0], bad[1], error=f"broken {attempt}")
        expect_abort(good[0], good[1]["group"])
    expect_nothing(a, 0.5)
    expect_nothing(b, 0.2)
    print(*groups)
    return "ok"


def lost():
    a, b = worker("la"), worker("lb")
    ma, mb = one_run(a, b)
    a.close()
    reason = expect_abort(b, mb["group"])
    check("la" in reason and "lost" in reason, f"reason: {reason}")
    c = worker("lc")
    nb, nc = one_run(b, c)
    check(nb["group"] != mb["group"], "same group id after a lost member")
    result(b, nb)
    result(c, nc)
    return "ok"


def deadline():
    a, b = worker("da"), worker("db")
    ma, mb = one_run(a, b)
    result(a, ma)
    start = time.time()
    reason = expect_abort(b, mb["group"])
    waited = time.time() - start
    check("no result within" in reason and f"rank {mb['rank']} (db)" in reason, f"reason: {reason}")
    check(waited > 1.0, f"aborted after {waited:.1f} s, before the deadline")
    # The member that had answered is done; its worker gets no abort.
    na, nb = one_run(a, b)
    check(na["group"] != ma["group"], "same group id after the deadline")
    result(a, na)
    result(b, nb)
    return "ok"


def scores():
    """Three idle workers; the run goes to the two with close scores."""
    x, y, z = worker("sx", score=5000), worker("sy", score=1000), worker("sz", score=1100)
    subprocess.run(["wpool", "submit", "scores", "--kernel", os.environ["W_KERNELS"] + "/echo.so",
                    "--group", "2", "-q"], input=b'{"x":1}\n', check=True, timeout=30)
    my, mz = one_run(y, z)
    expect_nothing(x, 0.5)
    result(y, my)
    result(z, mz)
    return "ok"


def fallback():
    """One slot in all: an ordinary campaign's task meanwhile, then the run."""
    a = worker("fa1")
    m = receive_within(a, 5)
    while m is not None and m.get("t") == "campaign":
        check(m.get("name") == "plain" and "group" not in m, f"bound to {m}")
        m = receive_within(a, 5)
    check(m is not None and m.get("t") == "tasks", f"expected the plain task, got {m}")
    item = m["items"][0]
    check("group" not in item and "rank" not in item, f"plain item {item}")
    a.send({"t": "results", "items": [{"task": item["id"], "output": 1, "ms": 1}]})
    expect_nothing(a, 0.5)
    b = worker("fb1")
    ma, mb = one_run(a, b)
    result(a, ma)
    result(b, mb)
    return "ok"


def uncoupled():
    u = worker("ua", slots=2, score=1000, coupled=False)
    expect_nothing(u, 1.5)
    a, b = worker("ub", score=1000, coupled=True), worker("uc", score=1000)
    ma, mb = one_run(a, b)
    expect_nothing(u, 0.5)
    result(a, ma)
    result(b, mb)
    expect_nothing(u, 0.5)
    return "ok"


def hold():
    a, b = worker("ha"), worker("hb")
    ma, _ = one_run(a, b)
    print(ma["group"], flush=True)
    for c in (a, b):
        try:
            while True:
                m = c.receive()
                check(m.get("t") != "abort", f"aborted: {m}")
        except (SystemExit, OSError):
            pass  # the pool went away
    return "gone"


def main():
    global PORT
    PORT = int(sys.argv[1])
    scenario = sys.argv[2]
    try:
        if scenario == "pair":
            out = pair(int(sys.argv[3]))
        else:
            out = {"wait": wait, "abort": abort, "fail": fail, "lost": lost,
                   "deadline": deadline, "hold": hold, "scores": scores,
                   "fallback": fallback, "uncoupled": uncoupled}[scenario]()
    except Fail as e:
        print(f"{scenario}: {e}")
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
