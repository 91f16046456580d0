// randomwalk — PSciLab §8.2's particle random walk on a cellular automaton,
// as a coupled kernel. The rows × cols world is split into pr × pc
// partitions, one per group member (rank = partition row · pc + partition
// column, so K = pr·pc), each holding its cells and a one-cell halo of its
// 8 neighbours' edges. A cell's `place` is 0 (free) or the id of the particle
// on it. Every step has the paper's three phases, each closed by a halo
// exchange with the neighbours, which is what synchronizes them:
//
//   before    every occupied cell picks one of its free Moore neighbours at
//             random (its `next`); [exchange places first, so the choice sees
//             the neighbours' cells]
//   activity  every particle with a `next` claims that cell with its id; the
//             highest id wins a cell claimed twice; claims on halo cells go to
//             the partition that owns them [exchange claims]
//   after     a particle whose claim won leaves its old cell, the others stay
//             put [exchange places, so a particle sees who won across the edge]
//
// The random choices come from a counter-based generator keyed on (seed,
// step, global cell), and the initial particles on (seed, cell): the final
// grid depends on the seed only, never on the partitioning. Cells outside
// the world are walls.
//
//   dataset / static  {"rows", "cols", "partitions"?: [pr, pc] (default [1, 1]),
//                      "steps", "P"? (density, 0.3), "seed"? (1), "timeout"? (ms)}
//                     (the dataset's fields win over the static dataset's)
//   → each member: {"rank", "row0", "col0", "h", "w", "steps", "moves",
//      "counts": [particles after step 0, 1, ..., steps] (this partition's),
//      "grid": bin (h·w little-endian uint32 places, row by row)}
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/halo.hpp"
#include "w_kernel.hpp"

namespace {

struct Result {
  int rank = 0;
  int64_t row0 = 0, col0 = 0, h = 0, w = 0, steps = 0, moves = 0;
  std::vector<int64_t> counts;
  std::vector<unsigned char> grid;  // packed as bin
  MSGPACK_DEFINE_MAP(rank, row0, col0, h, w, steps, moves, counts, grid);
};

constexpr uint32_t kWall = 0xFFFFFFFFu;  // a halo cell outside the world

using halo::param;

// splitmix64's finalizer: a counter-based generator, one value per key.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
uint64_t random_at(uint64_t seed, uint64_t step, uint64_t cell) {
  return mix(mix(mix(seed) ^ step) ^ cell);
}

// The 8 Moore directions, in the fixed order choices are made in.
constexpr int kDirs[8][2] = {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 1}, {1, -1}, {1, 0}, {1, 1}};

// One partition: h × w cells with a halo, cell (i, j) at (i+1, j+1).
class Partition {
 public:
  Partition(halo::Link link, int prow, int pcol, int pr, int pc, int64_t rows, int64_t cols)
      : link_(link), prow_(prow), pcol_(pcol), pr_(pr), pc_(pc), cols_(cols) {
    row0_ = prow * rows / pr;
    col0_ = pcol * cols / pc;
    h_ = static_cast<int>((prow + 1) * rows / pr - row0_);
    w_ = static_cast<int>((pcol + 1) * cols / pc - col0_);
    if (h_ < 1 || w_ < 1) throw std::runtime_error("a partition has no cells");
    place_.assign(static_cast<size_t>(h_ + 2) * (w_ + 2), 0);
    claim_.assign(place_.size(), 0);
    next_.assign(place_.size(), -1);
    for (int i = -1; i <= h_; ++i)
      for (int j = -1; j <= w_; ++j) {
        const int64_t gi = row0_ + i, gj = col0_ + j;
        if (gi < 0 || gj < 0 || gi >= rows || gj >= cols) place_[at(i, j)] = kWall;
      }
  }

  int64_t row0() const { return row0_; }
  int64_t col0() const { return col0_; }
  int h() const { return h_; }
  int w() const { return w_; }
  size_t at(int i, int j) const { return static_cast<size_t>(i + 1) * (w_ + 2) + (j + 1); }
  uint64_t global(int i, int j) const {
    return static_cast<uint64_t>(row0_ + i) * cols_ + (col0_ + j);
  }

  void init(uint64_t seed, double density) {
    for (int i = 0; i < h_; ++i)
      for (int j = 0; j < w_; ++j) {
        const uint64_t r = random_at(seed, ~0ull, global(i, j));
        if ((r >> 11) * 0x1.0p-53 < density)
          place_[at(i, j)] = static_cast<uint32_t>(global(i, j) + 1);
      }
  }

  // One step of the three phases; returns the particles that moved.
  int64_t step(uint64_t seed, uint64_t t) {
    const int stride = w_ + 2;
    // before
    exchange(place_, false);
    for (int i = 0; i < h_; ++i)
      for (int j = 0; j < w_; ++j) {
        const size_t k = at(i, j);
        next_[k] = -1;
        if (place_[k] == 0) continue;
        int free[8], n = 0;
        for (const auto& d : kDirs) {
          const size_t nk = k + d[0] * stride + d[1];
          if (place_[nk] == 0) free[n++] = static_cast<int>(nk);
        }
        if (n > 0) next_[k] = free[random_at(seed, t, global(i, j)) % n];
      }
    // activity
    std::fill(claim_.begin(), claim_.end(), 0);
    for (int i = 0; i < h_; ++i)
      for (int j = 0; j < w_; ++j) {
        const size_t k = at(i, j);
        if (next_[k] >= 0) claim_[next_[k]] = std::max(claim_[next_[k]], place_[k]);
      }
    exchange(claim_, true);
    for (int i = 0; i < h_; ++i)
      for (int j = 0; j < w_; ++j)
        if (claim_[at(i, j)] != 0) place_[at(i, j)] = claim_[at(i, j)];
    // after
    exchange(place_, false);
    int64_t moved = 0;
    for (int i = 0; i < h_; ++i)
      for (int j = 0; j < w_; ++j) {
        const size_t k = at(i, j);
        if (next_[k] >= 0 && place_[next_[k]] == place_[k]) place_[k] = 0, ++moved;
      }
    return moved;
  }

  int64_t count() const {
    int64_t n = 0;
    for (int i = 0; i < h_; ++i)
      for (int j = 0; j < w_; ++j) n += place_[at(i, j)] != 0;
    return n;
  }

  std::vector<unsigned char> cells() const {
    std::vector<unsigned char> bytes(static_cast<size_t>(h_) * w_ * 4);
    for (int i = 0; i < h_; ++i)
      std::memcpy(&bytes[static_cast<size_t>(i) * w_ * 4], &place_[at(i, 0)], w_ * 4);
    return bytes;
  }

 private:
  // The rows [i0, i1) × columns [j0, j1) of the local array that face
  // direction d: the edge cells (halo == false) or the halo cells beyond them.
  struct Box {
    int i0, i1, j0, j1;
  };
  Box face(const int d[2], bool halo) const {
    auto span = [halo](int dir, int len, int* lo, int* hi) {
      if (dir < 0)
        *lo = halo ? -1 : 0, *hi = *lo + 1;
      else if (dir > 0)
        *lo = halo ? len : len - 1, *hi = *lo + 1;
      else
        *lo = 0, *hi = len;
    };
    Box b;
    span(d[0], h_, &b.i0, &b.i1);
    span(d[1], w_, &b.j0, &b.j1);
    return b;
  }

  // Places: send the edge facing each neighbour, receive its edge into the
  // halo. Claims (`merge`): send the halo facing each neighbour (claims on
  // its cells), fold what it sends into the edge with max.
  void exchange(std::vector<uint32_t>& cells, bool merge) {
    std::vector<uint32_t> buffer;
    for (const auto& d : kDirs) {
      const int rank = neighbour(d);
      if (rank < 0) continue;
      const Box b = face(d, merge);
      buffer.clear();
      for (int i = b.i0; i < b.i1; ++i)
        for (int j = b.j0; j < b.j1; ++j) buffer.push_back(cells[at(i, j)]);
      link_.send(rank, buffer.data(), buffer.size() * 4);
    }
    for (const auto& d : kDirs) {
      const int rank = neighbour(d);
      if (rank < 0) continue;
      const Box b = face(d, !merge);
      buffer.resize(static_cast<size_t>(b.i1 - b.i0) * (b.j1 - b.j0));
      link_.recv(rank, buffer.data(), buffer.size() * 4);
      size_t n = 0;
      for (int i = b.i0; i < b.i1; ++i)
        for (int j = b.j0; j < b.j1; ++j, ++n) {
          uint32_t& c = cells[at(i, j)];
          c = merge ? std::max(c, buffer[n]) : buffer[n];
        }
    }
  }

  int neighbour(const int d[2]) const {
    const int r = prow_ + d[0], c = pcol_ + d[1];
    return r < 0 || c < 0 || r >= pr_ || c >= pc_ ? -1 : r * pc_ + c;
  }

  halo::Link link_;
  int prow_, pcol_, pr_, pc_;
  int64_t cols_, row0_ = 0, col0_ = 0;
  int h_ = 0, w_ = 0;
  std::vector<uint32_t> place_, claim_;
  std::vector<int> next_;  // the chosen neighbour's index, -1 for none
};

Result simulate(const msgpack::object& in, w_out* out) {
  const int64_t rows = param<int64_t>(in, "rows", 0), cols = param<int64_t>(in, "cols", 0);
  const auto partitions = param(in, "partitions", std::vector<int>{1, 1});
  const int64_t steps = param<int64_t>(in, "steps", 0);
  const double density = param(in, "P", 0.3);
  const uint64_t seed = param<uint64_t>(in, "seed", 1);
  const int timeout_ms = param(in, "timeout", 60000);
  if (rows < 1 || cols < 1 || rows * cols >= kWall || steps < 0)
    throw std::runtime_error("need rows, cols >= 1 (fewer than 2^32 cells) and steps >= 0");
  if (partitions.size() != 2 || partitions[0] < 1 || partitions[1] < 1 || partitions[0] > rows ||
      partitions[1] > cols)
    throw std::runtime_error("partitions must be [rows, cols] within the world");
  const int pr = partitions[0], pc = partitions[1];
  const int rank = w_rank(out), size = w_size(out);
  if (size != pr * pc)
    throw std::runtime_error("the group has " + std::to_string(size) + " members for " +
                             std::to_string(pr * pc) + " partitions");

  Partition part(halo::Link{out, timeout_ms}, rank / pc, rank % pc, pr, pc, rows, cols);
  part.init(seed, density);
  Result result;
  result.rank = rank;
  result.row0 = part.row0();
  result.col0 = part.col0();
  result.h = part.h();
  result.w = part.w();
  result.steps = steps;
  result.counts.push_back(part.count());
  for (int64_t t = 0; t < steps; ++t) {
    result.moves += part.step(seed, static_cast<uint64_t>(t));
    result.counts.push_back(part.count());
  }
  result.grid = part.cells();
  return result;
}

}  // namespace

extern "C" W_EXPORT int w_init(const uint8_t* data, size_t n) {
  return w::kernel::run_init(data, n, [](const msgpack::object&) {});
}

extern "C" W_EXPORT int w_main(const uint8_t* in, size_t n, w_out* out) {
  return w::kernel::run_main(in, n, out,
                             [out](const msgpack::object& o) { return simulate(o, out); });
}
