#!/usr/bin/env bash
# The Mandelbrot set in 3 × 4 tiles of 100 × 100 pixels, computed on two
# slots and put together here as a PGM image: build/examples/mandelbrot.pgm.
# Usage: examples/mandelbrot/run.sh [build-dir] [RxC] [NxM]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common/example.sh"
example_start mandelbrot "${1:-}" bin/wgen bin/wrun kernels/mandelbrot.so
blocks=${2:-3x4}
size=${3:-100x100}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
image=$build/examples/mandelbrot.pgm
mkdir -p "$(dirname "$image")"

"$build/bin/wgen" blocks "$blocks" --size "$size" |
  "$build/bin/wrun" -k "$build/kernels/mandelbrot.so" --static '{"iterations":255}' -j 2 \
    --no-input >"$results" || fail "the pipeline exited with status $?"

# Tiles arrive in any order, each with its place; pixels come as {"$b64": ...}.
# Prints: width height pixels-covered centre-value corner-value.
read -r width height covered centre corner < <(python3 - "$results" "$image" <<'PY'
import base64, json, sys

tiles = [json.loads(line) for line in open(sys.argv[1])]
for t in tiles:
    if "error" in t:
        sys.exit(f"task {t['seq']}: {t['error']}")
outs = [t["output"] for t in tiles]
width = max(o["x0"] + o["w"] for o in outs)
height = max(o["y0"] + o["h"] for o in outs)
image, covered = bytearray(width * height), 0
for o in outs:
    pixels = base64.b64decode(o["pixels"]["$b64"])
    for row in range(o["h"]):
        start = (o["y0"] + row) * width + o["x0"]
        image[start:start + o["w"]] = pixels[row * o["w"]:(row + 1) * o["w"]]
    covered += o["w"] * o["h"]
with open(sys.argv[2], "wb") as f:
    f.write(b"P5\n%d %d\n255\n" % (width, height) + bytes(image))
print(width, height, covered, image[height // 2 * width + width // 2], image[0])
PY
) || fail "could not assemble the tiles"

rows=$((${blocks%x*} * ${size%x*}))
cols=$((${blocks#*x} * ${size#*x}))
echo "image: $image ($width x $height, centre $centre, corner $corner)"
[[ $width == "$cols" && $height == "$rows" ]] || fail "image is $width x $height, not $cols x $rows"
[[ $covered == $((rows * cols)) ]] || fail "tiles cover $covered pixels, not $((rows * cols))"
[[ $(head -c 2 "$image") == P5 && $(stat -c %s "$image") -gt $((rows * cols)) ]] ||
  fail "$image is not a whole PGM file"
# The centre, near -0.5 + 0i, lies in the main cardioid: it never escapes.
[[ $centre == 255 ]] || fail "centre pixel is $centre, not 255 (in the set)"
# The top-left corner, -2.5 + 1.5i, escapes at once.
((corner < 5)) || fail "corner pixel is $corner, should escape within 5 iterations"
echo "check: mandelbrot ok ${width}x${height}"
