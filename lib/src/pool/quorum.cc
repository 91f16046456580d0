#include "quorum.h"

#include <msgpack.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "w/msgpack.h"

namespace w::pool {
namespace {

constexpr size_t kMaxDepth = 64;

// The msgpack packer's stream, appending to a string.
struct StringSink {
  std::string& out;
  void write(const char* data, size_t n) { out.append(data, n); }
};

void canonical(const msgpack::object& o, std::string& out) {
  mp::Packer pk(out);
  switch (o.type) {
    case msgpack::type::NIL:
      return pk.nil();
    case msgpack::type::BOOLEAN:
      return pk.boolean(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER:
      return pk.uinteger(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return pk.integer(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return pk.real(o.via.f64);
    case msgpack::type::STR:
      return pk.str(std::string_view(o.via.str.ptr, o.via.str.size));
    case msgpack::type::BIN:
      return pk.bin(o.via.bin.ptr, o.via.bin.size);
    case msgpack::type::EXT: {
      StringSink sink{out};
      msgpack::packer<StringSink> ext(sink);
      ext.pack_ext(o.via.ext.size, o.via.ext.type());
      ext.pack_ext_body(o.via.ext.data(), o.via.ext.size);
      return;
    }
    case msgpack::type::ARRAY:
      pk.array(o.via.array.size);
      for (uint32_t i = 0; i < o.via.array.size; ++i) canonical(o.via.array.ptr[i], out);
      return;
    case msgpack::type::MAP: {
      // Key order carries no meaning in a map; sort so that it cannot differ.
      std::vector<std::pair<std::string, std::string>> entries(o.via.map.size);
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        canonical(o.via.map.ptr[i].key, entries[i].first);
        canonical(o.via.map.ptr[i].val, entries[i].second);
      }
      std::sort(entries.begin(), entries.end());
      pk.map(o.via.map.size);
      for (auto& [k, v] : entries) out += k, out += v;
      return;
    }
  }
}

msgpack::object_handle parse(std::string_view bytes) {
  msgpack::unpack_limit limit(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                              kMaxDepth);
  size_t off = 0;
  return msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
}

bool is_number(const msgpack::object& o) {
  return o.type == msgpack::type::POSITIVE_INTEGER || o.type == msgpack::type::NEGATIVE_INTEGER ||
         o.type == msgpack::type::FLOAT32 || o.type == msgpack::type::FLOAT64;
}

double as_double(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      return static_cast<double>(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return static_cast<double>(o.via.i64);
    default:
      return o.via.f64;
  }
}

bool floats(const msgpack::object& o) {
  return o.type == msgpack::type::FLOAT32 || o.type == msgpack::type::FLOAT64;
}

// Structural equality with numbers within a relative tolerance (integers
// against integers stay exact). Both sides are in canonical form, so maps
// list their entries in the same order when their keys are the same.
bool near(const msgpack::object& a, const msgpack::object& b, double tol) {
  if (is_number(a) && is_number(b)) {
    if (!floats(a) && !floats(b)) return a == b;
    const double x = as_double(a), y = as_double(b);
    if (x == y) return true;
    if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
    return std::fabs(x - y) <= tol * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.type != b.type) return false;
  if (a.type == msgpack::type::ARRAY) {
    if (a.via.array.size != b.via.array.size) return false;
    for (uint32_t i = 0; i < a.via.array.size; ++i)
      if (!near(a.via.array.ptr[i], b.via.array.ptr[i], tol)) return false;
    return true;
  }
  if (a.type == msgpack::type::MAP) {
    if (a.via.map.size != b.via.map.size) return false;
    for (uint32_t i = 0; i < a.via.map.size; ++i)
      if (!(a.via.map.ptr[i].key == b.via.map.ptr[i].key) ||
          !near(a.via.map.ptr[i].val, b.via.map.ptr[i].val, tol))
        return false;
    return true;
  }
  return a == b;
}

bool comparable(const Vote& a, const Vote& b, const QuorumRule& rule) {
  return rule.tolerance > 0 || a.platform == b.platform;
}

}  // namespace

bool agree(const Vote& a, const Vote& b, const QuorumRule& rule) {
  if (!comparable(a, b, rule)) return false;
  if (a.canon == b.canon) return true;
  if (rule.tolerance <= 0) return false;
  try {
    auto x = parse(a.canon), y = parse(b.canon);
    return near(x.get(), y.get(), rule.tolerance);
  } catch (const std::exception&) {
    return false;  // not msgpack: only equal bytes agree
  }
}

bool disagrees(const Vote& vote, const Vote& accepted, const QuorumRule& rule) {
  return comparable(vote, accepted, rule) && !agree(vote, accepted, rule);
}

std::string canonical_msgpack(std::string_view bytes) {
  if (!mp::is_one_object(bytes)) return std::string(bytes);
  try {
    msgpack::object_handle h = parse(bytes);
    std::string out;
    out.reserve(bytes.size());
    canonical(h.get(), out);
    return out;
  } catch (const std::exception&) {
    return std::string(bytes);
  }
}

Verdict judge(const std::vector<Vote>& votes, int outstanding, const QuorumRule& rule) {
  // For each counted vote, how many counted votes agree with it (itself
  // included); the first vote with the most is the best value. Agreement
  // under a tolerance is not transitive, so this counts pairs, not groups
  // of equal bytes (a task has a handful of votes: bound is small).
  const int n = static_cast<int>(votes.size());
  int counted = 0, best = 0, best_first = -1;
  std::vector<bool> seen(votes.size(), false);  // a vote equal to an earlier one
  int values = 0;
  for (int i = 0; i < n; ++i) {
    if (!votes[i].counted) continue;
    ++counted;
    int agreeing = 0;
    for (int j = 0; j < n; ++j) {
      if (!votes[j].counted || !agree(votes[i], votes[j], rule)) continue;
      ++agreeing;
      if (j < i) seen[static_cast<size_t>(i)] = true;
    }
    if (!seen[static_cast<size_t>(i)]) ++values;
    if (agreeing > best) best = agreeing, best_first = i;
  }
  Verdict v;
  if (best >= rule.quorum) {
    v.kind = Verdict::kAccept;
    v.accepted = best_first;
    return v;
  }
  // Enough further replicas that the best value could reach the quorum,
  // and at least the replicas asked for, but never past the bound.
  const int target = std::min(rule.bound, std::max(rule.replicas, counted + rule.quorum - best));
  v.wanted = std::max(0, target - counted - outstanding);
  if (v.wanted == 0 && outstanding == 0) {
    v.kind = Verdict::kFail;
    v.why = fmt::format(
        "no quorum: {} results from different workers, {} different values, at most {} agree "
        "({} needed)",
        counted, values, best, rule.quorum);
  }
  return v;
}

}  // namespace w::pool
