#!/usr/bin/env python3
"""Docs are tests: runs every shell example of README.md and of the EXAMPLES
section of every man page, as a reader would, and fails on a non-zero exit
or on printed output that differs from the output shown.

What is an example:
  README.md   a fenced block of language sh or console. An indented code
              block is refused: it cannot say whether it is shell, output or
              a file (fence it as ```sh, ```console or ```text).
  man/*.[137] a .Bd -literal block inside .Sh EXAMPLES.
A block whose first line starts with "$ " is a console block: lines after
"$ " (and "> " continuations) are commands, the lines below a command are
the output it must print ("..." on a line of its own stands for any lines,
"[exit N]" for an expected exit status N). Any other block runs as a script under
`bash -e` (as a
reader's shell: a pipeline's status is its last command's) and only its exit status
counts.

The line just before a block may say how to run it:
  README.md   <!-- example: WORDS -->         man   .\\" example: WORDS
(several separated by "; "):
  skip REASON   not run here; REASON says why and what test runs it instead
  source        program text, not shell (a man page's C example)
  pool          a throwaway open pool with two workers is running; W_POOL
                points at it
  continue      runs on in the session of the block before it (its
                variables and the servers it started), as a reader reading
                on in one terminal
  timeout N     seconds the block (or the blocks it continues) may take
                (default 120)

How it runs, as the README tells a reader to set up (`export PATH=$PWD/
build/bin:$PATH W_KERNEL_PATH=$PWD/build/kernels`): blocks of one document
run in order, in one fresh directory of their own where `build` is the build
under test, each block in a session of its own that is killed when the block
ends (servers it left running go with it); HOME is a fresh directory. The
documents' addresses are rewritten to ports chosen free at run time on
127.0.0.1: 7070 (wpool), 7080 (wsql), 9000 (wsig), with the host names pool,
localhost, 0.0.0.0 and POOL-HOST in front of them; the servers' defaults
follow (WPOOL_LISTEN, WSQL_LISTEN, WSIG_HOST and WSIG_PORT are set), and
W_POOL is the rewritten ws://127.0.0.1:7070, the clients' default.

usage: examples.py [--list] [--only FILE:LINE] [--build DIR] [--src DIR]
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

DOC_PORTS = (7070, 7080, 9000)
DOC_HOSTS = ("pool", "localhost", "0.0.0.0", "127.0.0.1", "POOL-HOST")
DEFAULT_TIMEOUT = 120


@dataclass
class Block:
    doc: str  # path relative to the source tree
    line: int  # first line of the block's text
    text: list
    words: list = field(default_factory=list)  # the directive, split

    @property
    def where(self):
        return f"{self.doc}:{self.line}"

    def directive(self, name):
        """The words after `name` in the block's directive (several are
        separated by ";"), or None when it does not say `name`."""
        for part in re.split(r";\s*(?=(?:skip|source|pool|continue|timeout)\b)", " ".join(self.words)):
            words = part.split()
            if words and words[0] == name:
                return words[1:]
        return None


class DocError(Exception):
    pass


DIRECTIVE_MD = re.compile(r"^<!--\s*example:\s*(.*?)\s*-->\s*$")
DIRECTIVE_MAN = re.compile(r'^\.\\"\s*example:\s*(.*?)\s*$')


def directive_before(lines, i, pattern):
    j = i - 1
    while j >= 0 and lines[j].strip() == "":
        j -= 1
    m = pattern.match(lines[j]) if j >= 0 else None
    return m.group(1).split() if m else []


def markdown_blocks(path, rel):
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i, prev_blank = [], 0, True
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(```+)\s*(\S*)", line)
        if fence:
            end = i + 1
            while end < len(lines) and not lines[end].startswith(fence.group(1)):
                end += 1
            if fence.group(2) in ("sh", "console"):
                words = directive_before(lines, i, DIRECTIVE_MD)
                blocks.append(Block(rel, i + 2, lines[i + 1:end], words))
            i, prev_blank = end + 1, False
            continue
        # An indented code block starts after a blank line (not in a list).
        if prev_blank and line.startswith("    ") and line.strip() and not in_list(lines, i):
            raise DocError(f"{rel}:{i + 1}: an indented code block: fence it as ```sh, "
                           "```console or ```text so the docs test knows what it is")
        prev_blank = line.strip() == ""
        i += 1
    return blocks


def in_list(lines, i):
    """True if line i continues a list item (indented text under "- " or "1. ")."""
    j = i - 1
    while j >= 0 and (lines[j].strip() == "" or lines[j].startswith("  ")):
        j -= 1
    return j >= 0 and re.match(r"^(\s*[-*]|\s*\d+\.)\s", lines[j]) is not None


def unescape_mdoc(line):
    return line.replace("\\e", "\\").replace("\\-", "-").replace("\\&", "")


def man_blocks(path, rel):
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, in_examples, i = [], False, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".Sh "):
            in_examples = line.strip() == ".Sh EXAMPLES"
        elif in_examples and line.startswith(".Bd -literal"):
            end = i + 1
            while end < len(lines) and not lines[end].startswith(".Ed"):
                end += 1
            text = [unescape_mdoc(t) for t in lines[i + 1:end]]
            blocks.append(Block(rel, i + 2, text, directive_before(lines, i, DIRECTIVE_MAN)))
            i = end
        i += 1
    return blocks


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rewrite(text, ports):
    """The documents' addresses, on the ports of this run."""
    for doc_port, port in ports.items():
        hosts = "|".join(re.escape(h) for h in DOC_HOSTS)
        text = re.sub(rf"\b(?:{hosts}):{doc_port}\b", f"127.0.0.1:{port}", text)
        text = re.sub(rf"--port {doc_port}\b", f"--port {port}", text)
    return text


def console_script(lines, prefix=""):
    """A console block as a script printing a marker before each command,
    and the output it must print, markers included."""
    script, expected, n, i = [], [], 0, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = [line[2:]]
            while i + 1 < len(lines) and lines[i + 1].startswith("> "):
                i += 1
                command.append(lines[i][2:])
            status = 0
            j = i + 1
            while j < len(lines) and not lines[j].startswith("$ "):
                j += 1
            out = lines[i + 1:j]
            if out and re.fullmatch(r"\[exit \d+\]", out[-1].strip()):
                status = int(out[-1].strip()[6:-1])
                out = out[:-1]
            n += 1
            script.append(f"printf '@@ {prefix}{n}\\n'")
            body = "\n".join(command)
            script.append(f"set +e\n{body}\n__rc=$?\nset -e")
            script.append(f'[ "$__rc" = {status} ] || '
                          f'{{ echo "examples: command {n} exited $__rc, not {status}" >&2; exit 1; }}')
            expected.append(f"@@ {prefix}{n}")
            expected.extend(out)
            i = j
            continue
        if line.strip():
            raise DocError(f"output before any command: {line!r}")
        i += 1
    return "\n".join(script) + "\n", expected


def matches(expected, actual):
    """Line by line, trailing blanks ignored; "..." matches any lines."""
    exp = [e.rstrip() for e in expected]
    act = [a.rstrip() for a in actual]
    while exp and exp[-1] == "":
        exp.pop()
    while act and act[-1] == "":
        act.pop()
    memo = {}

    def at(i, j):
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(exp):
            ok = j == len(act)
        elif exp[i].strip() == "...":
            ok = at(i + 1, j) or (j < len(act) and at(i, j + 1))
        else:
            ok = j < len(act) and exp[i] == act[j] and at(i + 1, j + 1)
        memo[(i, j)] = ok
        return ok

    return at(0, 0)


def kill_session(proc):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + 3
        while time.time() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


class Runner:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.ports = {p: free_port() for p in DOC_PORTS}
        build = os.path.abspath(args.build)
        self.env = dict(os.environ)
        self.env.update({
            "PATH": f"{build}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "W_KERNEL_PATH": f"{build}/kernels",
            "W_POOL": f"ws://127.0.0.1:{self.ports[7070]}",
            # The servers' own defaults are the documents' ports too.
            "WPOOL_LISTEN": f"127.0.0.1:{self.ports[7070]}",
            "WSQL_LISTEN": f"127.0.0.1:{self.ports[7080]}",
            "WSIG_HOST": "127.0.0.1",
            "WSIG_PORT": str(self.ports[9000]),
            "HOME": os.path.join(tmp, "home"),
        })
        for name in ("W_CAP", "W_CONFIG", "W_CACERT"):
            self.env.pop(name, None)
        os.makedirs(self.env["HOME"], exist_ok=True)
        self.build = build

    def workdir(self, doc):
        d = os.path.join(self.tmp, re.sub(r"[^A-Za-z0-9]", "_", doc))
        if not os.path.isdir(d):
            os.makedirs(d)
            os.symlink(self.build, os.path.join(d, "build"))
        return d

    def spawn(self, script, cwd, out, err):
        return subprocess.Popen(["bash", "-e", "-c", script], cwd=cwd,
                                env=self.env, stdout=out, stderr=err, start_new_session=True)

    def start_pool(self, cwd):
        """A throwaway open pool and two workers for a `pool` block."""
        port = free_port()
        script = (f"wpool serve --db fixture-pool.db --listen 127.0.0.1:{port} &\n"
                  f"wrun ws://127.0.0.1:{port} -j 2 &\nwait\n")
        log = open(os.path.join(cwd, "fixture-pool.log"), "w")
        proc = self.spawn(script, cwd, log, subprocess.STDOUT)
        return proc, f"ws://127.0.0.1:{port}"

    def script_of(self, block, n):
        """Block n of a group as script text, and the output it must print
        (None for a script block, whose stdout goes to a file of its own)."""
        text = rewrite("\n".join(block.text), self.ports).split("\n")
        first = next((t for t in text if t.strip()), "")
        if first.startswith("$ "):
            script, expected = console_script(text, prefix=f"{n}.")
            return script, expected
        return f"{{\n" + "\n".join(text) + f"\n}} >.out.{n}\n", None

    def run(self, group):
        block = group[0]
        cwd = self.workdir(block.doc)
        parts = [self.script_of(b, n) for n, b in enumerate(group)]
        script = "".join(p[0] for p in parts)
        expected = [line for p in parts if p[1] is not None for line in p[1]]
        timeouts = [int(b.directive("timeout")[0]) for b in group if b.directive("timeout")]
        timeout = max(timeouts) if timeouts else DEFAULT_TIMEOUT
        fixture = None
        env_pool = self.env["W_POOL"]
        if any(b.directive("pool") is not None for b in group):
            fixture, self.env["W_POOL"] = self.start_pool(cwd)
        out_path, err_path = os.path.join(cwd, ".out"), os.path.join(cwd, ".err")
        start = time.time()
        try:
            with open(out_path, "w") as out, open(err_path, "w") as err:
                proc = self.spawn(script, cwd, out, err)
                try:
                    status = proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    status = None
                kill_session(proc)
        finally:
            self.env["W_POOL"] = env_pool
            if fixture:
                kill_session(fixture)
                fixture.wait()
        took = time.time() - start
        stdout = open(out_path, encoding="utf-8", errors="replace").read()
        stderr = open(err_path, encoding="utf-8", errors="replace").read()
        why = None
        if status is None:
            why = f"still running after {timeout} s"
        elif status != 0:
            why = f"exit status {status}"
        elif not matches(expected, stdout.split("\n")):
            why = "printed output differs from the output shown"
        if why:
            return why, script, stdout, stderr, expected, took
        return None, None, None, None, None, took


def groups(blocks):
    """Blocks to run, a block with `continue` joined to the one before it;
    program text (`source`) is left out."""
    out = []
    for b in blocks:
        if b.directive("source") is not None:
            continue
        if b.directive("continue") is not None and out and out[-1][-1].doc == b.doc:
            out[-1].append(b)
        else:
            out.append([b])
    return out


def all_blocks(src):
    blocks = markdown_blocks(os.path.join(src, "README.md"), "README.md")
    for name in sorted(os.listdir(os.path.join(src, "man"))):
        if re.search(r"\.[1-8]$", name):
            blocks += man_blocks(os.path.join(src, "man", name), f"man/{name}")
    return blocks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", default=os.environ.get("W_SRC", "."), help="source tree")
    parser.add_argument("--build", default=os.environ.get("W_BUILD", "build"), help="build under test")
    parser.add_argument("--list", action="store_true", help="list the examples, run nothing")
    parser.add_argument("--only", metavar="FILE:LINE", help="run the blocks of FILE up to LINE's")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    try:
        blocks = all_blocks(args.src)
    except DocError as e:
        print(f"examples: {e}", file=sys.stderr)
        return 1
    if args.list:
        for b in blocks:
            kind = " ".join(b.words) or "run"
            print(f"{b.where}\t{kind}\t{b.text[0] if b.text else ''}")
        return 0
    if args.only:
        doc, line = args.only.rsplit(":", 1)
        blocks = [b for b in blocks if b.doc == doc and b.line <= int(line) + 1]
    tmp = tempfile.mkdtemp(prefix="wkit-docs-")
    runner = Runner(args, tmp)
    ran = skipped = failed = 0
    for group in groups(blocks):
        b = group[-1]
        reason = next((x.directive("skip") for x in group if x.directive("skip") is not None), None)
        if reason is not None:
            if not reason:
                print(f"examples: {b.where}: `skip` needs a reason", file=sys.stderr)
                failed += 1
            print(f"skip {b.where}: {' '.join(reason)}")
            skipped += 1
            continue
        ran += 1
        why, script, stdout, stderr, expected, took = runner.run(group)
        where = group[0].where + (f" to {b.line}" if len(group) > 1 else "")
        if why is None:
            print(f"ok   {where} ({took:.1f} s)", flush=True)
            continue
        failed += 1
        print(f"FAIL {where}: {why} ({took:.1f} s)")
        print("  --- ran:\n" + indent(script))
        if expected:
            print("  --- expected output:\n" + indent("\n".join(expected)))
        print("  --- stdout:\n" + indent(tail(stdout)))
        print("  --- stderr:\n" + indent(tail(stderr)), flush=True)
    sys.stdout.flush()
    if args.keep or failed:
        print(f"examples: work directory kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"examples: {ran} run, {skipped} skipped (each says why), {failed} failed")
    return 1 if failed else 0


def indent(text):
    return "\n".join("    " + t for t in text.rstrip("\n").split("\n"))


def tail(text, n=40):
    lines = text.rstrip("\n").split("\n")
    return "\n".join(lines[-n:])


if __name__ == "__main__":
    sys.exit(main())
