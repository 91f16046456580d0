// plot.cc — see plot.h. Axes get "nice" ticks (1, 2 or 5 × 10^k apart, or
// whole decades on a log axis), labelled in %g.
#include "plot.h"

#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>

namespace w::plot {

extern const uint8_t kFont5x7[95][5];

namespace {

constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kGrey{200, 200, 200};
// Series colours, told apart in colour and in grey.
constexpr Rgb kPalette[] = {{31, 119, 180},  {214, 39, 40},  {44, 160, 44},
                            {148, 103, 189}, {255, 127, 14}, {23, 190, 207}};

std::string label(double v) {
  if (std::fabs(v) < 1e-12) v = 0;  // a tick at -1e-17 is a tick at 0
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

// Ticks between lo and hi, 4 to 10 of them.
std::vector<double> nice_ticks(double lo, double hi) {
  const double span = hi - lo;
  double step = std::pow(10.0, std::floor(std::log10(span)));
  for (double f : {5.0, 2.0, 1.0}) {
    if (span / (step / f) <= 10) {
      step /= f;
      break;
    }
  }
  std::vector<double> ticks;
  // Multiples of step, each computed afresh so none drifts off its value.
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; ++k)
    ticks.push_back(k * step);
  return ticks;
}

struct Axis {
  double lo = 0, hi = 1;
  int p0 = 0, p1 = 1;  // the pixels lo and hi map to
  int at(double v) const {
    return p0 + static_cast<int>(std::lround((v - lo) / (hi - lo) * (p1 - p0)));
  }
};

// The data's range, widened so a flat series still gets an axis.
void range_of(const std::vector<double>& v, double* lo, double* hi) {
  *lo = std::numeric_limits<double>::infinity();
  *hi = -*lo;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    *lo = std::min(*lo, x);
    *hi = std::max(*hi, x);
  }
  if (!(*lo <= *hi)) *lo = 0, *hi = 1;
  if (*hi - *lo < 1e-300 + std::fabs(*hi) * 1e-12)
    *lo -= 0.5 + std::fabs(*lo) * 0.1, *hi += 0.5 + std::fabs(*hi) * 0.1;
}

}  // namespace

Image::Image(int width, int height, Rgb background)
    : width_(std::max(width, 1)), height_(std::max(height, 1)) {
  rgb_.resize(static_cast<size_t>(width_) * height_ * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = background.r;
    rgb_[i + 1] = background.g;
    rgb_[i + 2] = background.b;
  }
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = &rgb_[(static_cast<size_t>(y) * width_ + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void Image::fill(int x0, int y0, int x1, int y1, Rgb c) {
  for (int y = std::max(y0, 0); y < std::min(y1, height_); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, width_); ++x) set(x, y, c);
}

void Image::line(int x0, int y0, int x1, int y1, Rgb c) {
  // Bresenham, all octants.
  const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
  const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  for (int err = dx + dy;;) {
    set(x0, y0, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void Image::text(int x, int y, const std::string& s, Rgb c, int scale) {
  for (unsigned char ch : s) {
    if (ch >= 32 && ch < 127) {
      for (int col = 0; col < 5; ++col)
        for (int row = 0; row < 7; ++row)
          if (kFont5x7[ch - 32][col] >> row & 1)
            fill(x + col * scale, y + row * scale, x + (col + 1) * scale, y + (row + 1) * scale, c);
    }
    x += 6 * scale;
  }
}

int Image::text_width(const std::string& s, int scale) {
  return s.empty() ? 0 : (static_cast<int>(s.size()) * 6 - 1) * scale;
}

bool write_png(const Image& image, const std::string& path, std::string* error) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    *error = "open '" + path + "': " + std::strerror(errno);
    return false;
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    *error = "write '" + path + "': libpng failed";
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, image.width(), image.height(), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < image.height(); ++y)
    png_write_row(png, image.rgb().data() + static_cast<size_t>(y) * image.width() * 3);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(f) != 0) {
    *error = "write '" + path + "': " + std::strerror(errno);
    return false;
  }
  return true;
}

Rgb colour_map(double t) {
  // Nine stops of matplotlib's viridis, linearly between them.
  static constexpr Rgb kStops[] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                   {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                   {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
  constexpr int n = sizeof kStops / sizeof kStops[0];
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  const double at = t * (n - 1);
  const int i = std::min(static_cast<int>(at), n - 2);
  const double f = at - i;
  auto mix = [f](uint8_t a, uint8_t b) {
    return static_cast<uint8_t>(std::lround(a + (b - a) * f));
  };
  return {mix(kStops[i].r, kStops[i + 1].r), mix(kStops[i].g, kStops[i + 1].g),
          mix(kStops[i].b, kStops[i + 1].b)};
}

Image heat_map(const std::vector<double>& values, int rows, int cols, const HeatOptions& options) {
  const int scale = options.scale > 0 ? options.scale : std::max(1, 400 / std::max(rows, cols));
  double lo = options.min, hi = options.max;
  if (lo == hi) {
    std::vector<double> shown;
    for (double v : values)
      if (!options.has_blank || v != options.blank) shown.push_back(v);
    range_of(shown, &lo, &hi);
  }
  const int margin = 12, top = options.title.empty() ? margin : margin + 22;
  const int map_w = cols * scale, map_h = rows * scale;
  const int bar_x = margin + map_w + 16, bar_w = 16;
  const std::string lo_label = label(lo), hi_label = label(hi);
  const int width = bar_x + bar_w + 6 +
                    std::max(Image::text_width(lo_label), Image::text_width(hi_label)) + margin;
  Image image(std::max(width, margin * 2 + Image::text_width(options.title, 2)),
              top + map_h + margin);
  image.text(margin, margin, options.title, kBlack, 2);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double v = values[static_cast<size_t>(r) * cols + c];
      if (options.has_blank && v == options.blank) continue;
      image.fill(margin + c * scale, top + r * scale, margin + (c + 1) * scale,
                 top + (r + 1) * scale, colour_map((v - lo) / (hi - lo)));
    }
  // The colour bar, hi at the top, with its two ends labelled.
  for (int y = 0; y < map_h; ++y)
    image.fill(bar_x, top + y, bar_x + bar_w, top + y + 1,
               colour_map(1.0 - static_cast<double>(y) / std::max(map_h - 1, 1)));
  image.text(bar_x + bar_w + 6, top, hi_label, kBlack);
  image.text(bar_x + bar_w + 6, top + map_h - 7, lo_label, kBlack);
  return image;
}

Image line_plot(const std::vector<Series>& series, const PlotOptions& options) {
  Image image(options.width, options.height);
  std::vector<double> xs, ys;
  for (const Series& s : series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    for (double y : s.y) ys.push_back(options.log_y ? (y > 0 ? std::log10(y) : NAN) : y);
  }
  Axis x, y;
  range_of(xs, &x.lo, &x.hi);
  range_of(ys, &y.lo, &y.hi);
  if (options.log_y) y.lo = std::floor(y.lo), y.hi = std::ceil(y.hi);
  if (options.y_zero && !options.log_y) y.lo = std::min(y.lo, 0.0), y.hi = std::max(y.hi, 0.0);
  // Whole-number x data (counts of blocks, workers) gets whole-number ticks.
  bool whole = true;
  for (double v : xs) whole = whole && v == std::floor(v);
  if (y.hi == y.lo) y.hi = y.lo + 1;
  // A legend, when there is more than one series, gets a band of its own
  // between the title and the plot.
  const int legend = series.size() > 1 ? static_cast<int>(series.size()) * 14 : 0;
  const int left = 70, right = 20, bottom = 44;
  const int top = (options.title.empty() ? 20 : 44) + legend;
  x.p0 = left, x.p1 = options.width - right;
  y.p0 = options.height - bottom, y.p1 = top;
  image.text(left, 12, options.title, kBlack, 2);
  // Grid lines and tick labels.
  for (double t : nice_ticks(x.lo, x.hi)) {
    if (whole && std::fabs(t - std::round(t)) > 1e-9) continue;
    image.line(x.at(t), y.p0, x.at(t), y.p1, kGrey);
    const std::string s = label(t);
    image.text(x.at(t) - Image::text_width(s) / 2, y.p0 + 6, s, kBlack);
  }
  std::vector<double> yticks;
  if (options.log_y) {
    const int step = std::max(1, static_cast<int>(std::ceil((y.hi - y.lo) / 10)));
    for (double t = y.lo; t <= y.hi; t += step) yticks.push_back(t);
  } else {
    yticks = nice_ticks(y.lo, y.hi);
  }
  for (double t : yticks) {
    image.line(x.p0, y.at(t), x.p1, y.at(t), kGrey);
    const std::string s = options.log_y ? "1e" + label(t) : label(t);
    image.text(x.p0 - 6 - Image::text_width(s), y.at(t) - 3, s, kBlack);
  }
  image.line(x.p0, y.p0, x.p1, y.p0, kBlack);
  image.line(x.p0, y.p0, x.p0, y.p1, kBlack);
  image.text((x.p0 + x.p1 - Image::text_width(options.x_label)) / 2, options.height - 16,
             options.x_label, kBlack);
  image.text(8, top - 14, options.y_label, kBlack);
  // The series, then the legend on top of them.
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const Rgb c = kPalette[i % std::size(kPalette)];
    bool have_last = false;
    int lx = 0, ly = 0;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      const double v = options.log_y ? (s.y[k] > 0 ? std::log10(s.y[k]) : NAN) : s.y[k];
      if (!std::isfinite(v) || !std::isfinite(s.x[k])) {
        have_last = false;
        continue;
      }
      const int px = x.at(s.x[k]), py = y.at(v);
      if (have_last) {
        image.line(lx, ly, px, py, c);
        image.line(lx, ly + 1, px, py + 1, c);  // two pixels thick
      }
      if (options.points) image.fill(px - 3, py - 3, px + 4, py + 4, c);
      lx = px, ly = py, have_last = true;
    }
  }
  if (series.size() > 1) {
    int ly = top - legend - 6;
    for (size_t i = 0; i < series.size(); ++i, ly += 14) {
      const int lx = x.p1 - 12 - Image::text_width(series[i].name) - 24;
      image.fill(lx, ly + 2, lx + 18, ly + 5, kPalette[i % std::size(kPalette)]);
      image.text(lx + 24, ly, series[i].name, kBlack);
    }
  }
  return image;
}

}  // namespace w::plot
