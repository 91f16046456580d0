// problem.h — the Poisson problem both the kernel and the reference solve:
//
//   -(u_xx + u_yy) = f  on the unit square,  u = g on its edges,
//
// on a grid of rows × cols interior cells (hx = 1/(cols+1), hy = 1/(rows+1)),
// with the 5-point stencil. Cell (i, j) sits at x = (j+1)·hx, y = 1-(i+1)·hy:
// row 0 at the top, as the heat map shows it. Rows -1 and `rows`, columns -1
// and `cols` are the boundary. f is a warm source at the upper left and a
// weaker sink at the lower right; g is half a sine wave along the top edge.
#pragma once

#include <cmath>

namespace poisson {

inline double source(double x, double y) {
  const double a = (x - 0.3) * (x - 0.3) + (y - 0.7) * (y - 0.7);
  const double b = (x - 0.7) * (x - 0.7) + (y - 0.3) * (y - 0.3);
  return 50 * std::exp(-a / 0.01) - 30 * std::exp(-b / 0.02);
}

inline double boundary(double x, double y) {
  return y >= 1 ? 0.5 * std::sin(M_PI * x) : 0.0;
}

/// The grid's geometry and stencil weights: a cell's Jacobi update is
/// (cx·(uW+uE) + cy·(uN+uS) + f) / d, its residual f + cx·(uW+uE) + cy·(uN+uS) - d·u.
struct Grid {
  int rows, cols;
  double hx, hy, cx, cy, d;
  Grid(int rows_, int cols_)
      : rows(rows_),
        cols(cols_),
        hx(1.0 / (cols_ + 1)),
        hy(1.0 / (rows_ + 1)),
        cx(1 / (hx * hx)),
        cy(1 / (hy * hy)),
        d(2 * cx + 2 * cy) {}
  double x(int j) const { return (j + 1) * hx; }
  double y(int i) const { return 1 - (i + 1) * hy; }
  /// The source at cell (i, j), or the boundary value when (i, j) lies on an edge.
  double f(int i, int j) const { return source(x(j), y(i)); }
  double g(int i, int j) const { return boundary(x(j), y(i)); }
};

}  // namespace poisson
