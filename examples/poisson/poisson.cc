// poisson — the WebRTC blog's domain-decomposed Poisson solver (seed 000) as
// a coupled kernel: the grid of problem.h is split into blockRows × blockCols
// blocks of n × m cells, one per group member (rank = blockRow·blockCols +
// blockCol, so K = blockRows·blockCols). Each member repeats rounds of
//
//   1. Jacobi sweeps on its block, with its halo held fixed, until its inner
//      criterion: max residual < blockMaxRes or blockMaxItt sweeps;
//   2. edge exchange: its outer rows and columns to its 4 neighbours, theirs
//      into its halo (w_send all, then w_recv all);
//   3. the global residual: each member's max residual with the fresh halo
//      to rank 0, which sends the maximum back to everyone; all stop when it
//      is below maxRes (or after maxRounds).
//
// Since the stopping test is on the true residual of the whole field, every
// partition stops within maxRes/8 (the bound of the inverse Laplacian on the
// unit square) of the same discrete solution. With K = 1 it is plain Jacobi.
//
//   dataset / static  {"blockRows", "blockCols", "n", "m", "blockMaxRes"?,
//                      "blockMaxItt"?, "maxRes"?, "maxRounds"?, "timeout"? (ms)}
//                     (the dataset's fields win over the static dataset's)
//   → each member: {"rank", "blockRow", "blockCol", "row0", "col0", "n", "m",
//      "rounds", "sweeps", "residual", "field": bin (n·m little-endian
//      float64, row by row), "history": [[sweeps, residual], ...] (rank 0 only:
//      the global residual after every round)}
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/halo.hpp"
#include "problem.h"
#include "w_kernel.hpp"

namespace {

struct Result {
  int rank = 0, blockRow = 0, blockCol = 0;
  int64_t row0 = 0, col0 = 0, n = 0, m = 0, rounds = 0, sweeps = 0;
  double residual = 0;
  std::vector<unsigned char> field;  // packed as bin
  std::vector<std::vector<double>> history;
  MSGPACK_DEFINE_MAP(rank, blockRow, blockCol, row0, col0, n, m, rounds, sweeps, residual, field,
                     history);
};

using halo::Link;
using halo::param;

// A block of n × m cells with a one-cell halo: (n+2) × (m+2) values, the
// block's cell (i, j) at (i+1, j+1). The halo holds the boundary values on
// the grid's edges and the neighbours' edges elsewhere.
class Block {
 public:
  Block(const poisson::Grid& grid, int64_t row0, int64_t col0, int n, int m)
      : grid_(grid), n_(n), m_(m), u_((n + 2) * (m + 2), 0.0), next_(u_), f_(u_) {
    for (int i = -1; i <= n; ++i)
      for (int j = -1; j <= m; ++j) {
        const int gi = static_cast<int>(row0) + i, gj = static_cast<int>(col0) + j;
        const bool edge = gi < 0 || gj < 0 || gi >= grid.rows || gj >= grid.cols;
        if (edge) u_[at(i, j)] = grid.g(gi, gj);
        f_[at(i, j)] = edge ? 0.0 : grid.f(gi, gj);
      }
  }
  int at(int i, int j) const { return (i + 1) * (m_ + 2) + (j + 1); }
  double& u(int i, int j) { return u_[at(i, j)]; }

  /// One Jacobi sweep over the block; returns the max residual before it.
  double sweep() {
    double worst = 0;
    const double cx = grid_.cx, cy = grid_.cy, d = grid_.d;
    for (int i = 0; i < n_; ++i) {
      const int row = at(i, 0), stride = m_ + 2;
      for (int k = row; k < row + m_; ++k) {
        const double sum =
            cx * (u_[k - 1] + u_[k + 1]) + cy * (u_[k - stride] + u_[k + stride]) + f_[k];
        const double r = sum - d * u_[k];
        worst = std::max(worst, std::fabs(r));
        next_[k] = sum / d;
      }
    }
    // The new interior back into u_ (next_'s halo is never read).
    for (int i = 0; i < n_; ++i) std::memcpy(&u_[at(i, 0)], &next_[at(i, 0)], m_ * sizeof(double));
    return worst;
  }

  /// The max residual of the block as it stands.
  double residual() const {
    double worst = 0;
    const int stride = m_ + 2;
    for (int i = 0; i < n_; ++i)
      for (int k = at(i, 0); k < at(i, 0) + m_; ++k)
        worst = std::max(worst, std::fabs(grid_.cx * (u_[k - 1] + u_[k + 1]) +
                                          grid_.cy * (u_[k - stride] + u_[k + stride]) + f_[k] -
                                          grid_.d * u_[k]));
    return worst;
  }

  /// Row i (or column j when `column`) of cells -1..n / -1..m picked by
  /// `index`, copied out of or into `line` (n or m values, halo corners left out).
  void get(bool column, int index, std::vector<double>* line) {
    const int len = column ? n_ : m_;
    line->resize(len);
    for (int k = 0; k < len; ++k) (*line)[k] = column ? u(k, index) : u(index, k);
  }
  void put(bool column, int index, const std::vector<double>& line) {
    for (int k = 0; k < static_cast<int>(line.size()); ++k) {
      (column ? u(k, index) : u(index, k)) = line[k];
    }
  }

  std::vector<unsigned char> interior() {
    std::vector<unsigned char> bytes(static_cast<size_t>(n_) * m_ * sizeof(double));
    for (int i = 0; i < n_; ++i)
      std::memcpy(&bytes[static_cast<size_t>(i) * m_ * sizeof(double)], &u_[at(i, 0)],
                  m_ * sizeof(double));
    return bytes;
  }

 private:
  const poisson::Grid grid_;
  const int n_, m_;
  std::vector<double> u_, next_, f_;
};

// Sends this block's outer rows and columns to its neighbours, then puts
// theirs into its halo.
void exchange(const Link& link, Block* block, int br, int bc, int rows, int cols, int n, int m) {
  struct Side {
    int drow, dcol;
    bool column;
    int mine, halo;  // the index of the edge sent, and of the halo row/column filled
  };
  const Side sides[] = {
      {-1, 0, false, 0, -1}, {1, 0, false, n - 1, n}, {0, -1, true, 0, -1}, {0, 1, true, m - 1, m}};
  std::vector<double> line;
  for (const Side& s : sides) {
    const int r = br + s.drow, c = bc + s.dcol;
    if (r < 0 || c < 0 || r >= rows || c >= cols) continue;
    block->get(s.column, s.mine, &line);
    link.send(r * cols + c, line.data(), line.size() * sizeof(double));
  }
  for (const Side& s : sides) {
    const int r = br + s.drow, c = bc + s.dcol;
    if (r < 0 || c < 0 || r >= rows || c >= cols) continue;
    line.resize(s.column ? n : m);
    link.recv(r * cols + c, line.data(), line.size() * sizeof(double));
    block->put(s.column, s.halo, line);
  }
}

// The maximum of every member's `local`, known to all: gathered at rank 0,
// which sends it back.
double global_max(const Link& link, int rank, int size, double local) {
  if (size == 1) return local;
  if (rank != 0) {
    link.send(0, &local, sizeof local);
    link.recv(0, &local, sizeof local);
    return local;
  }
  for (int r = 1; r < size; ++r) {
    double theirs;
    link.recv(r, &theirs, sizeof theirs);
    local = std::max(local, theirs);
  }
  for (int r = 1; r < size; ++r) link.send(r, &local, sizeof local);
  return local;
}

Result solve(const msgpack::object& in, w_out* out) {
  const int rows = param(in, "blockRows", 1), cols = param(in, "blockCols", 1);
  const int n = param(in, "n", 0), m = param(in, "m", 0);
  const double block_max_res = param(in, "blockMaxRes", 1e-9);
  const int block_max_itt = param(in, "blockMaxItt", 60);
  const double max_res = param(in, "maxRes", 1e-6);
  const int64_t max_rounds = param<int64_t>(in, "maxRounds", 1000000);
  const Link link{out, param(in, "timeout", 60000)};
  if (rows < 1 || cols < 1 || n < 1 || m < 1 || block_max_itt < 1)
    throw std::runtime_error("need blockRows, blockCols, n, m and blockMaxItt >= 1");
  const int rank = w_rank(out), size = w_size(out);
  if (size != rows * cols)
    throw std::runtime_error("the group has " + std::to_string(size) + " members for " +
                             std::to_string(rows * cols) + " blocks");

  Result result;
  result.rank = rank;
  result.blockRow = rank / cols;
  result.blockCol = rank % cols;
  result.row0 = static_cast<int64_t>(result.blockRow) * n;
  result.col0 = static_cast<int64_t>(result.blockCol) * m;
  result.n = n;
  result.m = m;
  const poisson::Grid grid(rows * n, cols * m);
  Block block(grid, result.row0, result.col0, n, m);
  double global = INFINITY;
  while (result.rounds < max_rounds && !(global < max_res)) {
    for (int k = 0; k < block_max_itt; ++k) {
      ++result.sweeps;
      if (block.sweep() < block_max_res) break;
    }
    exchange(link, &block, result.blockRow, result.blockCol, rows, cols, n, m);
    global = global_max(link, rank, size, block.residual());
    ++result.rounds;
    if (rank == 0) result.history.push_back({static_cast<double>(result.sweeps), global});
  }
  result.residual = global;
  result.field = block.interior();
  return result;
}

}  // namespace

extern "C" W_EXPORT int w_init(const uint8_t* data, size_t n) {
  return w::kernel::run_init(data, n, [](const msgpack::object&) {});
}

extern "C" W_EXPORT int w_main(const uint8_t* in, size_t n, w_out* out) {
  return w::kernel::run_main(in, n, out, [out](const msgpack::object& o) { return solve(o, out); });
}
