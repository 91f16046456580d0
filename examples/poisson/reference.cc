// poisson-reference — the single-process solve the poisson example checks
// its blocks against: the grid of problem.h, by successive over-relaxation
// (a different method from the kernel's Jacobi, to the same discrete
// solution), until the max residual is below --tolerance.
//
//   poisson-reference ROWS COLS [--tolerance 1e-9] > field.txt
//
// Prints ROWS lines of COLS values (%.17g), then "# sweeps S residual R" on stderr.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

#include "problem.h"

int main(int argc, char** argv) {
  CLI::App app{"poisson-reference: the poisson example's grid solved in one process (SOR)"};
  int rows = 0, cols = 0;
  double tolerance = 1e-9;
  long max_sweeps = 10000000;
  app.add_option("rows", rows, "Interior rows")->required()->check(CLI::Range(1, 20000));
  app.add_option("cols", cols, "Interior columns")->required()->check(CLI::Range(1, 20000));
  app.add_option("--tolerance", tolerance, "Stop when the max residual is below this")
      ->capture_default_str();
  app.add_option("--max-sweeps", max_sweeps, "Give up after this many sweeps")
      ->capture_default_str();
  app.footer("Examples:\n  poisson-reference 100 100 > u.txt");
  CLI11_PARSE(app, argc, argv);

  const poisson::Grid grid(rows, cols);
  const int stride = cols + 2;
  std::vector<double> u(static_cast<size_t>(rows + 2) * stride, 0.0), f(u.size(), 0.0);
  auto at = [stride](int i, int j) { return static_cast<size_t>(i + 1) * stride + (j + 1); };
  for (int i = -1; i <= rows; ++i)
    for (int j = -1; j <= cols; ++j) {
      const bool edge = i < 0 || j < 0 || i >= rows || j >= cols;
      (edge ? u : f)[at(i, j)] = edge ? grid.g(i, j) : grid.f(i, j);
    }
  // The optimal factor from the Jacobi iteration's spectral radius.
  const double rho =
      (grid.cx * std::cos(M_PI / (cols + 1)) + grid.cy * std::cos(M_PI / (rows + 1))) /
      (grid.cx + grid.cy);
  const double omega = 2 / (1 + std::sqrt(1 - rho * rho));
  double residual = INFINITY;
  long sweeps = 0;
  while (residual >= tolerance && sweeps < max_sweeps) {
    residual = 0;
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        const size_t k = at(i, j);
        const double r = f[k] + grid.cx * (u[k - 1] + u[k + 1]) +
                         grid.cy * (u[k - stride] + u[k + stride]) - grid.d * u[k];
        residual = std::max(residual, std::fabs(r));
        u[k] += omega * r / grid.d;
      }
    ++sweeps;
  }
  // The residual above was measured during the last sweep; measure it again.
  residual = 0;
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      const size_t k = at(i, j);
      residual =
          std::max(residual, std::fabs(f[k] + grid.cx * (u[k - 1] + u[k + 1]) +
                                       grid.cy * (u[k - stride] + u[k + stride]) - grid.d * u[k]));
    }
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) std::printf("%.17g%c", u[at(i, j)], j + 1 < cols ? ' ' : '\n');
  std::fprintf(stderr, "# sweeps %ld residual %g\n", sweeps, residual);
  return residual < tolerance * 10 ? 0 : 1;
}
