// plot.h — the examples' small picture maker: an RGB canvas with lines, boxes
// and 5 × 7 text, a heat map of a 2-D field, a line plot of a few series, and
// a PNG writer on libpng. Enough for the case studies' figures, nothing more.
//
//   w::plot::Image image = w::plot::heat_map(field, 100, 100, {.title = "u"});
//   std::string error;
//   if (!w::plot::write_png(image, "u.png", &error)) ...
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace w::plot {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

/// An RGB picture, row 0 at the top. Drawing outside it is clipped.
class Image {
 public:
  Image(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return width_; }
  int height() const { return height_; }
  /// The rows' bytes, 3 per pixel.
  const std::vector<uint8_t>& rgb() const { return rgb_; }

  void set(int x, int y, Rgb c);
  void fill(int x0, int y0, int x1, int y1, Rgb c);  // [x0, x1) × [y0, y1)
  void line(int x0, int y0, int x1, int y1, Rgb c);
  /// Text in the 5 × 7 font, each dot `scale` pixels, top-left at (x, y).
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  /// The width text() takes for `s`.
  static int text_width(const std::string& s, int scale = 1);

 private:
  int width_, height_;
  std::vector<uint8_t> rgb_;
};

/// Writes `image` as an 8-bit RGB PNG. False, with *error set, on failure.
bool write_png(const Image& image, const std::string& path, std::string* error);

/// The colour of t in [0, 1] on a viridis-like map (dark blue → yellow).
Rgb colour_map(double t);

struct HeatOptions {
  int scale = 0;            // pixels per cell; 0 picks one so the map is ~400 px
  double min = 0, max = 0;  // the colour bar's range; min == max: the data's
  std::string title;
  bool has_blank = false;  // cells equal to `blank` are left white
  double blank = 0;
};

/// A heat map of `values` (rows × cols, row by row, row 0 at the top) with a
/// colour bar and its range on the right.
Image heat_map(const std::vector<double>& values, int rows, int cols, const HeatOptions& options);

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct PlotOptions {
  int width = 640, height = 420;
  bool log_y = false;   // log10 y axis (values <= 0 are left out)
  bool points = false;  // a mark on every point besides the lines
  bool y_zero = false;  // the y axis reaches down (or up) to 0
  std::string title, x_label, y_label;
};

/// Lines of one or more series on linear axes (or a log y axis), with ticks,
/// labels and a legend when there is more than one series.
Image line_plot(const std::vector<Series>& series, const PlotOptions& options);

}  // namespace w::plot
