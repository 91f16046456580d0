// blocks: a 2-D domain decomposition, as the WebRTC Poisson solver splits
// its grid among peers.
//
// The domain is R x C blocks of N x M cells. Blocks are numbered row-major
// (rank = row * C + col); y counts cell rows downwards (north is row - 1),
// x counts cell columns to the right (east is col + 1). Each record carries
// everything a kernel needs to find its cells and its neighbours' ranks for
// the halo exchange, so no kernel computes the decomposition itself.
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "w/gen.h"
#include "w/msgpack.h"
#include "w/parse.h"

namespace w::gen {
namespace {

Status check(const BlocksOptions& o) {
  if (o.rows <= 0 || o.cols <= 0 || o.height <= 0 || o.width <= 0)
    return Status(Code::kUsage, "blocks: counts and sizes must be positive");
  long long cells = 0, ranks = 0;
  if (__builtin_mul_overflow(o.rows, o.height, &cells) ||
      __builtin_mul_overflow(o.cols, o.width, &cells) ||
      __builtin_mul_overflow(o.rows, o.cols, &ranks))
    return Status(Code::kUsage, "blocks: the domain is too large");
  if (o.halo < 0 || o.halo > std::min(o.height, o.width))
    return Status(Code::kUsage, fmt::format("blocks: --halo {} is not within 0..{} (the block's "
                                            "smaller side: a halo reaches one neighbour only)",
                                            o.halo, std::min(o.height, o.width)));
  return {};
}

void pack_block(const BlocksOptions& o, long long r, long long c, std::string& rec) {
  rec.clear();
  mp::Packer pk(rec);
  auto field = [&](const char* key, long long v) { pk.str(key), pk.integer(v); };
  auto neighbour = [&](const char* key, long long nr, long long nc) {
    pk.str(key);
    if (nr < 0 || nc < 0 || nr >= o.rows || nc >= o.cols)
      pk.nil();
    else
      pk.integer(nr * o.cols + nc);
  };
  pk.map(16);
  field("rank", r * o.cols + c);
  field("row", r);
  field("col", c);
  field("rows", o.rows);
  field("cols", o.cols);
  field("y0", r * o.height);
  field("y1", (r + 1) * o.height);
  field("x0", c * o.width);
  field("x1", (c + 1) * o.width);
  field("height", o.rows * o.height);
  field("width", o.cols * o.width);
  field("halo", o.halo);
  neighbour("north", r - 1, c);
  neighbour("south", r + 1, c);
  neighbour("west", r, c - 1);
  neighbour("east", r, c + 1);
}

}  // namespace

Result<std::pair<long long, long long>> parse_dims(std::string_view text) {
  const size_t x = text.find('x');
  if (x == std::string_view::npos)
    return Status(Code::kUsage, fmt::format("'{}' is not RxC (e.g. 4x4)", text));
  auto a = util::parse_count(text.substr(0, x)), b = util::parse_count(text.substr(x + 1));
  if (!a.ok() || !b.ok() || *a <= 0 || *b <= 0)
    return Status(Code::kUsage,
                  fmt::format("'{}' is not RxC with positive whole numbers (e.g. 4x4)", text));
  return std::make_pair(*a, *b);
}

Status blocks(const BlocksOptions& o, stream::RecordWriter& out) {
  W_RETURN_IF_ERROR(check(o));
  std::string rec;
  for (long long r = 0; r < o.rows; ++r) {
    for (long long c = 0; c < o.cols; ++c) {
      pack_block(o, r, c, rec);
      W_RETURN_IF_ERROR(out.write(rec));
    }
  }
  return {};
}

}  // namespace w::gen
