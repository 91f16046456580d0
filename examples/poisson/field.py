#!/usr/bin/env python3
"""The poisson example's glue: puts the members' blocks back together.

  field.py assemble RESULTS FIELD HISTORY   one wrun result record (JSON) →
      the field as rows of numbers (wplot heat's input) and rank 0's residual
      history as "sweeps residual" lines; prints "members rounds sweeps residual"
  field.py diff A B                         max |A - B| of two such fields
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import blocks  # noqa: E402


def assemble(results, field_path, history_path):
    members = blocks.members(results)
    field = blocks.stitch(members, "n", "m", "field", "d", "the blocks do not cover the grid")
    with open(field_path, "w") as f:
        for row in field:
            f.write(" ".join(repr(v) for v in row) + "\n")
    first = next(m for m in members if m["rank"] == 0)
    with open(history_path, "w") as f:
        for sweeps, residual in first["history"]:
            f.write(f"{sweeps:g} {residual!r}\n")
    print(len(members), first["rounds"], first["sweeps"], first["residual"])


def diff(a, b):
    fa = [[float(v) for v in line.split()] for line in open(a)]
    fb = [[float(v) for v in line.split()] for line in open(b)]
    if len(fa) != len(fb) or any(len(x) != len(y) for x, y in zip(fa, fb)):
        sys.exit(f"{a} and {b} differ in shape")
    print(max(abs(x - y) for ra, rb in zip(fa, fb) for x, y in zip(ra, rb)))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "assemble":
        assemble(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        diff(*sys.argv[2:])
    else:
        sys.exit(__doc__)
