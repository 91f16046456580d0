#!/usr/bin/env python3
"""The randomwalk example's glue: puts the partitions back together and
checks them.

  grid.py assemble RESULTS GRID   one wrun result record (JSON) → the final
      world as rows of particle ids (0: free; wplot heat's input). Checks
      that the particle count summed over the partitions is the same after
      every step and that no particle id appears twice. Prints
      "members particles steps moves".
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import blocks  # noqa: E402


def assemble(results, grid_path):
    members = blocks.members(results)
    grid = blocks.stitch(members, "h", "w", "grid", "I", "the partitions do not cover the world")
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
