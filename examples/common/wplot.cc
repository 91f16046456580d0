// wplot — the case studies' figure maker, on examples/common/plot.h.
//
//   wplot heat ROWS COLS OUT.png < values     ROWS × COLS numbers, row by row
//   wplot line OUT.png < points               "x y" lines; "# name" starts a series
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "plot.h"

namespace {

int heat(int rows, int cols, const std::string& out, const w::plot::HeatOptions& options) {
  std::vector<double> values;
  values.reserve(static_cast<size_t>(rows) * cols);
  for (double v; values.size() < values.capacity() && std::cin >> v;) values.push_back(v);
  if (values.size() != static_cast<size_t>(rows) * cols) {
    std::fprintf(stderr, "wplot: error: read %zu values from stdin, not %d x %d\n", values.size(),
                 rows, cols);
    return 1;
  }
  std::string error;
  if (!w::plot::write_png(w::plot::heat_map(values, rows, cols, options), out, &error)) {
    std::fprintf(stderr, "wplot: error: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

int line(const std::string& out, const w::plot::PlotOptions& options) {
  std::vector<w::plot::Series> series;
  for (std::string text; std::getline(std::cin, text);) {
    if (text.empty()) continue;
    if (text[0] == '#') {
      const size_t start = text.find_first_not_of("# ");
      series.push_back({start == std::string::npos ? "" : text.substr(start), {}, {}});
      continue;
    }
    std::istringstream fields(text);
    double x, y;
    if (!(fields >> x >> y)) {
      std::fprintf(stderr, "wplot: error: not an 'x y' line: %s\n", text.c_str());
      return 1;
    }
    if (series.empty()) series.emplace_back();
    series.back().x.push_back(x);
    series.back().y.push_back(y);
  }
  std::string error;
  if (!w::plot::write_png(w::plot::line_plot(series, options), out, &error)) {
    std::fprintf(stderr, "wplot: error: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wplot: PNG figures for the wkit examples"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  printf '1 2\\n3 4\\n' | wplot heat 2 2 field.png --title u\n"
      "  printf '# residual\\n0 1\\n100 1e-3\\n' | wplot line curve.png --log-y");

  int rows = 0, cols = 0, status = 0;
  std::string out;
  w::plot::HeatOptions heat_options;
  CLI::App* heat_cmd = app.add_subcommand("heat", "Heat map of ROWS x COLS values read from stdin");
  heat_cmd->add_option("rows", rows, "Rows")->required()->check(CLI::Range(1, 100000));
  heat_cmd->add_option("cols", cols, "Columns")->required()->check(CLI::Range(1, 100000));
  heat_cmd->add_option("out", out, "PNG file to write")->required();
  heat_cmd->add_option("--title", heat_options.title, "Title above the map");
  heat_cmd->add_option("--scale", heat_options.scale, "Pixels per cell (0: fit ~400 px)")
      ->check(CLI::Range(0, 64));
  heat_cmd->add_option("--min", heat_options.min, "Colour bar low end (default: the data's)");
  heat_cmd->add_option("--max", heat_options.max, "Colour bar high end (default: the data's)");
  heat_cmd->add_option("--blank", heat_options.blank, "Leave cells of this value white")
      ->each([&](const std::string&) { heat_options.has_blank = true; });
  heat_cmd->callback([&] { status = heat(rows, cols, out, heat_options); });

  w::plot::PlotOptions plot_options;
  CLI::App* line_cmd =
      app.add_subcommand("line", "Line plot of 'x y' lines from stdin ('# name' starts a series)");
  line_cmd->add_option("out", out, "PNG file to write")->required();
  line_cmd->add_option("--title", plot_options.title, "Title above the plot");
  line_cmd->add_option("--x-label", plot_options.x_label, "Label of the x axis");
  line_cmd->add_option("--y-label", plot_options.y_label, "Label of the y axis");
  line_cmd->add_flag("--log-y", plot_options.log_y, "Log10 y axis");
  line_cmd->add_flag("--points", plot_options.points, "Mark every point");
  line_cmd->add_flag("--y-zero", plot_options.y_zero, "Stretch the y axis to 0");
  line_cmd->add_option("--width", plot_options.width, "Width in pixels")
      ->check(CLI::Range(200, 4000));
  line_cmd->add_option("--height", plot_options.height, "Height in pixels")
      ->check(CLI::Range(150, 4000));
  line_cmd->callback([&] { status = line(out, plot_options); });

  CLI11_PARSE(app, argc, argv);
  return status;
}
