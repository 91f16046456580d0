#!/usr/bin/env python3
"""Two interleaved spirals, the classic test of a small neural network
(K. Lang and M. Witbrock, "Learning to tell two spirals apart", 1988).

Usage: spirals.py [POINTS_PER_CLASS] [SEED]   (defaults: 200, 7)

Prints one JSON line per point, {"id", "x", "y", "label", "split"}, ready
for `wsql insert --create URL samples`. Class 1 is class 0 turned by half a
turn; each spiral makes 1.5 turns out to radius 1, with Gaussian noise of
0.03. Every fourth pair of points is held out as the test split. The same arguments
give the same points everywhere: Python's Mersenne Twister is specified.
"""
import json
import math
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
turns, noise = 1.5, 0.03
point = 0
for i in range(n):
    # sqrt spacing puts the points evenly along the arc, not bunched inwards
    r = 0.05 + 0.95 * math.sqrt((i + 0.5) / n)
    angle = r * turns * 2 * math.pi
    for label in (0, 1):
        a = angle + label * math.pi
        x = r * math.cos(a) + rng.gauss(0, noise)
        y = r * math.sin(a) + rng.gauss(0, noise)
        split = "test" if i % 4 == 3 else "train"
        print(json.dumps({"id": point, "x": round(x, 6), "y": round(y, 6), "label": label,
                          "split": split}))
        point += 1
