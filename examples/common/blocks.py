"""What the coupled case studies' glue scripts (poisson/field.py,
randomwalk/grid.py) share: reading a task's one wrun result record and
putting its members' blocks back together into one grid.

They import it from here (examples/common) whatever the working directory:

  sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
  sys.dont_write_bytecode = True  # no __pycache__ in the source tree
  import blocks
"""
import base64
import json
import struct
import sys


def members(results):
    """The members' outputs of the one result record in RESULTS (a list,
    also for a task of one member); exits with a message if there is not
    exactly one record, the task failed or a member returned nothing."""
    records = [json.loads(line) for line in open(results) if line.strip()]
    if len(records) != 1:
        sys.exit(f"{results}: {len(records)} result records, expected 1")
    record = records[0]
    if "error" in record:
        sys.exit(f"the task failed: {record['error']}")
    outputs = record["output"]
    if isinstance(outputs, dict):  # one member: not a group
        outputs = [outputs]
    if any(m is None for m in outputs):
        sys.exit("a member returned nothing")
    return outputs


def stitch(members, height, width, data, code, uncovered):
    """The whole grid, a list of rows, from each member's block: m[height] ×
    m[width] values of struct code CODE (little-endian, row by row) in
    m[data]["$b64"], placed at (m["row0"], m["col0"]). Exits with UNCOVERED
    if a cell is left out."""
    rows = max(m["row0"] + m[height] for m in members)
    cols = max(m["col0"] + m[width] for m in members)
    grid = [[None] * cols for _ in range(rows)]
    for m in members:
        h, w = m[height], m[width]
        values = struct.unpack(f"<{h * w}{code}", base64.b64decode(m[data]["$b64"]))
        for i in range(h):
            grid[m["row0"] + i][m["col0"]:m["col0"] + w] = values[i * w:(i + 1) * w]
    if any(v is None for row in grid for v in row):
        sys.exit(uncovered)
    return grid
