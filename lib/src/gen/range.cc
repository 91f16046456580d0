// range and seeds: counting generators, the hot path of wgen.
//
// Each record is packed into one reused buffer and handed to the writer, so
// a record costs a few dozen byte stores and no allocation. The
// arithmetic runs in uint64_t: `to - from` can be wider than long long
// (range -9e18 9e18), and unsigned wrap-around brings every bound back into
// range exactly.
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "w/gen.h"
#include "w/msgpack.h"

namespace w::gen {
namespace {

// The half-open chunk [lo, hi) as {"min": lo, "max": hi}.
Status emit_chunk(long long lo, long long hi, std::string& rec, stream::RecordWriter& out) {
  rec.clear();
  mp::Packer pk(rec);
  pk.map(2);
  pk.str("min");
  pk.integer(lo);
  pk.str("max");
  pk.integer(hi);
  return out.write(rec);
}

long long offset(long long from, uint64_t delta) {
  // In uint64_t, where wrapping is defined; the caller keeps the sum in range.
  const uint64_t sum = static_cast<uint64_t>(from) + delta;
  return static_cast<long long>(sum);
}

}  // namespace

Status range(const RangeOptions& o, stream::RecordWriter& out) {
  if (o.to < o.from)
    return Status(Code::kUsage, fmt::format("range: TO ({}) is below FROM ({})", o.to, o.from));
  if ((o.step > 0) == (o.chunks > 0))
    return Status(Code::kUsage,
                  "range: give exactly one of --step or --chunks (a positive number)");
  const uint64_t span = static_cast<uint64_t>(o.to) - static_cast<uint64_t>(o.from);
  std::string rec;
  if (o.step > 0) {
    const auto step = static_cast<uint64_t>(o.step);
    for (uint64_t at = 0; at < span; at += std::min(step, span - at))
      W_RETURN_IF_ERROR(
          emit_chunk(offset(o.from, at), offset(o.from, at + std::min(step, span - at)), rec, out));
    return {};
  }
  // K chunks, never empty: the first span % K are one wider than the rest.
  const uint64_t k = std::min(static_cast<uint64_t>(o.chunks), span);
  if (k == 0) return {};
  const uint64_t width = span / k, wider = span % k;
  auto start = [&](uint64_t i) { return width * i + std::min(i, wider); };
  for (uint64_t i = 0; i < k; ++i)
    W_RETURN_IF_ERROR(emit_chunk(offset(o.from, start(i)), offset(o.from, start(i + 1)), rec, out));
  return {};
}

Status seeds(const SeedsOptions& o, stream::RecordWriter& out) {
  if (o.n < 0) return Status(Code::kUsage, fmt::format("seeds: N ({}) is negative", o.n));
  long long last = 0;
  if (o.n > 0 && __builtin_add_overflow(o.base, o.n - 1, &last))
    return Status(Code::kUsage,
                  fmt::format("seeds: --base {} plus {} seeds is out of range", o.base, o.n));
  std::string rec;
  for (long long i = 0; i < o.n; ++i) {
    rec.clear();
    mp::Packer pk(rec);
    pk.map(2);
    pk.str("seed");
    pk.integer(o.base + i);
    pk.str("index");
    pk.integer(i);
    W_RETURN_IF_ERROR(out.write(rec));
  }
  return {};
}

}  // namespace w::gen
