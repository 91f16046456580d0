#!/usr/bin/env python3
"""The poisson example's glue: puts the members' blocks back together.

  field.py assemble RESULTS FIELD HISTORY   one wrun result record (JSON) →
      the field as rows of numbers (wplot heat's input) and rank 0's residual
      history as "sweeps residual" lines; prints "members rounds sweeps residual"
  field.py diff A B                         max |A - B| of two such fields
"""
import base64
import json
import struct
import sys


def assemble(results, field_path, history_path):
    records = [json.loads(line) for line in open(results) if line.strip()]
    if len(records) != 1:
        sys.exit(f"{results}: {len(records)} result records, expected 1")
    record = records[0]
    if "error" in record:
        sys.exit(f"the task failed: {record['error']}")
    members = record["output"]
    if isinstance(members, dict):  # one member: not a group
        members = [members]
    if any(m is None for m in members):
        sys.exit("a member returned nothing")
    rows = max(m["row0"] + m["n"] for m in members)
    cols = max(m["col0"] + m["m"] for m in members)
    field = [[None] * cols for _ in range(rows)]
    for m in members:
        n, w = m["n"], m["m"]
        values = struct.unpack(f"<{n * w}d", base64.b64decode(m["field"]["$b64"]))
        for i in range(n):
            field[m["row0"] + i][m["col0"]:m["col0"] + w] = values[i * w:(i + 1) * w]
    if any(v is None for row in field for v in row):
        sys.exit("the blocks do not cover the grid")
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
