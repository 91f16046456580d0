// mlp_heatmap — draw a value over a two-parameter grid as a PNG heat map,
// one panel per value of a third parameter.
//
//   wsql -f tsv URL 'SELECT optimizer, hidden, lr, test_acc FROM models' |
//     mlp_heatmap grid.png [MIN MAX]
//
// Standard input is tab-separated with a header line: panel, row, column,
// value (the header names label the axes). Rows and columns are sorted
// numerically when they are numbers, else kept in order of appearance; each
// cell shows its value with two decimals on a colour ramp from MIN (dark
// blue, default 0.5) to MAX (yellow, default 1). Exit status 0, 1 on bad
// input or a failed write, 2 on bad usage.
#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

// A 3 × 5 pixel font: each glyph is five rows of three bits, high bit left.
const std::map<char, std::array<uint8_t, 5>>& font() {
  static const std::map<char, std::array<uint8_t, 5>> glyphs = {
      {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}},
      {'3', {7, 1, 3, 1, 7}}, {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}},
      {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 2, 2}}, {'8', {7, 5, 7, 5, 7}},
      {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}},
      {'+', {0, 2, 7, 2, 0}}, {'_', {0, 0, 0, 0, 7}}, {'/', {1, 1, 2, 4, 4}},
      {':', {0, 2, 0, 2, 0}}, {'(', {1, 2, 2, 2, 1}}, {')', {4, 2, 2, 2, 4}},
      {'=', {0, 7, 0, 7, 0}}, {' ', {0, 0, 0, 0, 0}}, {',', {0, 0, 0, 2, 4}},
      {'a', {0, 7, 1, 7, 7}}, {'b', {4, 4, 7, 5, 7}}, {'c', {0, 7, 4, 4, 7}},
      {'d', {1, 1, 7, 5, 7}}, {'e', {2, 5, 7, 4, 3}}, {'f', {3, 4, 6, 4, 4}},
      {'g', {0, 7, 5, 3, 6}}, {'h', {4, 4, 7, 5, 5}}, {'i', {2, 0, 2, 2, 2}},
      {'j', {1, 0, 1, 5, 7}}, {'k', {4, 5, 6, 5, 5}}, {'l', {4, 4, 4, 4, 6}},
      {'m', {0, 7, 7, 5, 5}}, {'n', {0, 6, 5, 5, 5}}, {'o', {0, 7, 5, 5, 7}},
      {'p', {0, 7, 5, 7, 4}}, {'q', {0, 7, 5, 7, 1}}, {'r', {0, 7, 4, 4, 4}},
      {'s', {0, 3, 6, 1, 6}}, {'t', {2, 7, 2, 2, 3}}, {'u', {0, 5, 5, 5, 7}},
      {'v', {0, 5, 5, 5, 2}}, {'w', {0, 5, 5, 7, 7}}, {'x', {0, 5, 2, 2, 5}},
      {'y', {5, 5, 7, 1, 6}}, {'z', {0, 7, 1, 4, 7}},
  };
  return glyphs;
}

struct Rgb {
  uint8_t r, g, b;
};

struct Image {
  int width, height;
  std::vector<uint8_t> rgb;
  Image(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 255) {}
  void fill(int x0, int y0, int w, int h, Rgb c) {
    for (int y = std::max(y0, 0); y < std::min(y0 + h, height); ++y)
      for (int x = std::max(x0, 0); x < std::min(x0 + w, width); ++x) {
        uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
        p[0] = c.r, p[1] = c.g, p[2] = c.b;
      }
  }
  // Text at (x, y), its top-left corner, each font pixel `scale` wide.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 2) {
    for (char ch : s) {
      auto it = font().find(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
      if (it != font().end())
        for (int row = 0; row < 5; ++row)
          for (int col = 0; col < 3; ++col)
            if (it->second[row] & (4 >> col))
              fill(x + col * scale, y + row * scale, scale, scale, c);
      x += 4 * scale;
    }
  }
  static int text_width(const std::string& s, int scale = 2) {
    return s.empty() ? 0 : static_cast<int>(s.size()) * 4 * scale - scale;
  }
};

// A blue → green → yellow ramp (close to viridis) for t in [0, 1].
Rgb ramp(double t) {
  static const Rgb stops[] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(static_cast<int>(t), 3);
  const double f = t - i;
  auto mix = [f](uint8_t a, uint8_t b) {
    return static_cast<uint8_t>(std::lround(a + f * (b - a)));
  };
  return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g),
          mix(stops[i].b, stops[i + 1].b)};
}

// libpng reports errors by longjmp, back here; nothing is changed after the
// setjmp that would need to survive it.
bool write_rows(png_structp png, png_infop info, FILE* file, const Image& image) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_init_io(png, file);
  png_set_IHDR(png, info, image.width, image.height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < image.height; ++y)
    png_write_row(png, &image.rgb[static_cast<size_t>(y) * image.width * 3]);
  png_write_end(png, nullptr);
  return true;
}

bool write_png(const Image& image, const char* path) {
  FILE* file = std::fopen(path, "wb");
  if (!file) return false;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  const bool ok = png && info && write_rows(png, info, file, image);
  png_destroy_write_struct(&png, &info);
  return std::fclose(file) == 0 && ok;
}

bool is_number(const std::string& s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0';
}

// The distinct values of one key, numerically sorted if all are numbers.
void sort_keys(std::vector<std::string>& keys) {
  double unused;
  if (std::all_of(keys.begin(), keys.end(),
                  [&](const std::string& k) { return is_number(k, &unused); }))
    std::stable_sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
      return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
    });
}

void add_key(std::vector<std::string>& keys, const std::string& k) {
  if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::cerr << "usage: mlp_heatmap OUT.png [MIN MAX] < panel-row-column-value.tsv\n";
    return 2;
  }
  double lo = 0.5, hi = 1.0;
  if (argc == 4 && (!is_number(argv[2], &lo) || !is_number(argv[3], &hi) || !(hi > lo))) {
    std::cerr << "mlp_heatmap: error: MIN and MAX must be numbers, MIN < MAX\n";
    return 2;
  }
  std::string line;
  std::vector<std::string> header;
  if (!std::getline(std::cin, line)) {
    std::cerr << "mlp_heatmap: error: no input\n";
    return 1;
  }
  {
    std::istringstream in(line);
    for (std::string f; std::getline(in, f, '\t');) header.push_back(f);
  }
  if (header.size() != 4) {
    std::cerr << "mlp_heatmap: error: want 4 columns (panel, row, column, value), got "
              << header.size() << "\n";
    return 1;
  }
  std::vector<std::string> panels, rows, cols;
  std::map<std::array<std::string, 3>, double> cells;
  for (int n = 2; std::getline(std::cin, line); ++n) {
    std::vector<std::string> f;
    std::istringstream in(line);
    for (std::string x; std::getline(in, x, '\t');) f.push_back(x);
    double v;
    if (f.size() != 4 || !is_number(f[3], &v)) {
      std::cerr << "mlp_heatmap: error: line " << n << ": want panel, row, column, number\n";
      return 1;
    }
    add_key(panels, f[0]);
    add_key(rows, f[1]);
    add_key(cols, f[2]);
    cells[{f[0], f[1], f[2]}] = v;
  }
  if (cells.empty()) {
    std::cerr << "mlp_heatmap: error: no rows\n";
    return 1;
  }
  sort_keys(rows);
  sort_keys(cols);

  // Layout: per panel a title, the column labels, then the grid with the row
  // labels on its left; a colour bar under everything.
  const int cell_w = 64, cell_h = 36, margin = 16, label_w = 56, title_h = 40, gap = 32;
  const int grid_w = cell_w * static_cast<int>(cols.size());
  const int grid_h = cell_h * static_cast<int>(rows.size());
  const int panel_w = label_w + grid_w;
  const int n_panels = static_cast<int>(panels.size());
  const std::string caption =
      header[3] + " by " + header[2] + " (across) and " + header[1] + " (down)";
  const int width = std::max(2 * margin + n_panels * panel_w + (n_panels - 1) * gap,
                             2 * margin + Image::text_width(caption) + 8);
  const int height = margin + title_h + grid_h + 64 + margin;
  Image image(width, height);
  const Rgb ink{30, 30, 30}, light{250, 250, 250};
  for (int p = 0; p < n_panels; ++p) {
    const int x0 = margin + p * (panel_w + gap) + label_w, y0 = margin + title_h;
    image.text(x0, margin, panels[p], ink, 3);
    for (size_t c = 0; c < cols.size(); ++c)
      image.text(x0 + static_cast<int>(c) * cell_w + (cell_w - Image::text_width(cols[c])) / 2,
                 y0 - 14, cols[c], ink);
    for (size_t r = 0; r < rows.size(); ++r) {
      const int y = y0 + static_cast<int>(r) * cell_h;
      image.text(x0 - 8 - Image::text_width(rows[r]), y + (cell_h - 10) / 2, rows[r], ink);
      for (size_t c = 0; c < cols.size(); ++c) {
        const int x = x0 + static_cast<int>(c) * cell_w;
        auto it = cells.find({panels[p], rows[r], cols[c]});
        if (it == cells.end()) {
          image.fill(x + 1, y + 1, cell_w - 2, cell_h - 2, {220, 220, 220});
          continue;
        }
        const double t = (it->second - lo) / (hi - lo);
        image.fill(x + 1, y + 1, cell_w - 2, cell_h - 2, ramp(t));
        char value[32];
        std::snprintf(value, sizeof value, "%.2f", it->second);
        image.text(x + (cell_w - Image::text_width(value)) / 2, y + (cell_h - 10) / 2, value,
                   t > 0.6 ? ink : light);
      }
    }
  }
  // The colour bar, MIN to MAX, named after the value column.
  const int bar_y = margin + title_h + grid_h + 24, bar_w = std::min(width - 2 * margin - 160, 400);
  const int bar_x = margin + 80;
  for (int i = 0; i < bar_w; ++i)
    image.fill(bar_x + i, bar_y, 1, 16, ramp(double(i) / (bar_w - 1)));
  char text[64];
  std::snprintf(text, sizeof text, "%g", lo);
  image.text(bar_x - 8 - Image::text_width(text), bar_y + 3, text, ink);
  std::snprintf(text, sizeof text, "%g", hi);
  image.text(bar_x + bar_w + 8, bar_y + 3, text, ink);
  image.text(margin, bar_y + 24, caption, ink);
  if (!write_png(image, argv[1])) {
    std::cerr << "mlp_heatmap: error: cannot write '" << argv[1] << "'\n";
    return 1;
  }
  return 0;
}
