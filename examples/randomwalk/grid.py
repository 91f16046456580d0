#!/usr/bin/env python3
"""The randomwalk example's glue: puts the partitions back together and
checks them.

  grid.py assemble RESULTS GRID   one wrun result record (JSON) → the final
      world as rows of particle ids (0: free; wplot heat's input). Checks
      that the particle count summed over the partitions is the same after
      every step and that no particle id appears twice. Prints
      "members particles steps moves".
"""
import base64
import json
import struct
import sys


def assemble(results, grid_path):
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
    rows = max(m["row0"] + m["h"] for m in members)
    cols = max(m["col0"] + m["w"] for m in members)
    grid = [[None] * cols for _ in range(rows)]
    for m in members:
        h, w = m["h"], m["w"]
        cells = struct.unpack(f"<{h * w}I", base64.b64decode(m["grid"]["$b64"]))
        for i in range(h):
            grid[m["row0"] + i][m["col0"]:m["col0"] + w] = cells[i * w:(i + 1) * w]
    if any(c is None for row in grid for c in row):
        sys.exit("the partitions do not cover the world")
    steps = members[0]["steps"]
    totals = [sum(m["counts"][t] for m in members) for t in range(steps + 1)]
    for t, total in enumerate(totals):
        if total != totals[0]:
            sys.exit(f"step {t}: {total} particles, not {totals[0]}")
    ids = [c for row in grid for c in row if c]
    if len(ids) != totals[0] or len(set(ids)) != len(ids):
        sys.exit(f"the final world holds {len(ids)} particles ({len(set(ids))} ids), not {totals[0]}")
    with open(grid_path, "w") as f:
        for row in grid:
            f.write(" ".join(str(c) for c in row) + "\n")
    moves = sum(m["moves"] for m in members)
    print(len(members), totals[0], steps, moves)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "assemble":
        assemble(*sys.argv[2:])
    else:
        sys.exit(__doc__)
