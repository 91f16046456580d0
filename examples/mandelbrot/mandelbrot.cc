// mandelbrot — one tile of a Mandelbrot image per dataset; the campaign
// script puts the tiles together.
//
//   dataset {"x0", "x1", "y0", "y1", "width"?, "height"?}: the tile's pixel
//           ranges [x0, x1) × [y0, y1) of a width × height image, as
//           `wgen blocks RxC --size NxM` emits them
//   static  {"width"?, "height"?, "iterations"?, "re0"?, "re1"?, "im0"?, "im1"?}
//   → {"x0", "y0", "w", "h", "pixels": bin}, one byte per pixel, row by row:
//     the iterations before escape, 255 (or "iterations") for the set itself.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "w_kernel.hpp"

namespace {

struct Tile {
  int64_t x0 = 0, y0 = 0, w = 0, h = 0;
  std::vector<unsigned char> pixels;  // msgpack-c packs this as bin
  MSGPACK_DEFINE_MAP(x0, y0, w, h, pixels);
};

Tile mandelbrot(const msgpack::object& in) {
  using w::kernel::field;
  const msgpack::object& view = w::kernel::static_data();
  // The image size from the dataset, as wgen blocks sends it, or else from
  // the static dataset for hand-made tiles.
  const auto width = field<int64_t>(in, "width", field<int64_t>(view, "width", 0));
  const auto height = field<int64_t>(in, "height", field<int64_t>(view, "height", 0));
  if (width <= 0 || height <= 0) throw std::runtime_error("no image width and height");
  // Capped at 255 so a count always fits its byte.
  const int iterations = std::clamp<int>(field<int>(view, "iterations", 255), 1, 255);
  // Defaults frame the whole set with its main cardioid in the middle.
  const double re0 = field<double>(view, "re0", -2.5), re1 = field<double>(view, "re1", 1.5);
  const double im0 = field<double>(view, "im0", -1.5), im1 = field<double>(view, "im1", 1.5);
  Tile tile;
  // Clipped to the image: a block with a halo reaches past its edges.
  tile.x0 = std::max<int64_t>(field<int64_t>(in, "x0"), 0);
  tile.y0 = std::max<int64_t>(field<int64_t>(in, "y0"), 0);
  tile.w = std::min(field<int64_t>(in, "x1"), width) - tile.x0;
  tile.h = std::min(field<int64_t>(in, "y1"), height) - tile.y0;
  if (tile.w <= 0 || tile.h <= 0) throw std::runtime_error("tile lies outside the image");
  tile.pixels.reserve(tile.w * tile.h);
  for (int64_t y = tile.y0; y < tile.y0 + tile.h; ++y) {
    // Pixel centres, and row 0 at the top as image files expect.
    const double ci = im1 - (y + 0.5) * (im1 - im0) / height;
    for (int64_t x = tile.x0; x < tile.x0 + tile.w; ++x) {
      const double cr = re0 + (x + 0.5) * (re1 - re0) / width;
      double zr = 0, zi = 0;
      int n = 0;
      for (; n < iterations && zr * zr + zi * zi <= 4.0; ++n) {
        const double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
      }
      tile.pixels.push_back(static_cast<unsigned char>(n));
    }
  }
  return tile;
}

}  // namespace

W_KERNEL(mandelbrot)
