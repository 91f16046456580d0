#include "quorum.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "w/msgpack.h"

namespace w::pool {
namespace {

// Deeper results are compared by their bytes only (no recursion past it).
constexpr int kMaxDepth = 64;

// Appends the canonical form of the value at the front of `rest`: numbers
// and ext in their shortest encoding (float32 as float64), map entries sorted by
// their canonical bytes. False on bytes that are not one value, or too deep.
bool canonical(std::string_view& rest, std::string& out, int depth) {
  if (depth > kMaxDepth) return false;
  mp::Item item;
  if (!mp::read_item(rest, item)) return false;
  mp::Packer pk(out);
  switch (item.kind) {
    case mp::Item::kNil:
      return pk.nil(), true;
    case mp::Item::kBool:
      return pk.boolean(item.boolean), true;
    case mp::Item::kUint:
      return pk.uinteger(item.uint), true;
    case mp::Item::kInt:
      return pk.integer(item.sint), true;
    case mp::Item::kFloat:
      return pk.real(item.real), true;
    case mp::Item::kStr:
      return pk.str(item.bytes), true;
    case mp::Item::kBin:
      return pk.bin(item.bytes.data(), item.bytes.size()), true;
    case mp::Item::kExt:
      return pk.ext(item.ext_type, item.bytes.data(), item.bytes.size()), true;
    case mp::Item::kArray:
      pk.array(item.count);
      for (uint32_t i = 0; i < item.count; ++i)
        if (!canonical(rest, out, depth + 1)) return false;
      return true;
    case mp::Item::kMap: {
      // Key order carries no meaning in a map; sort so that it cannot differ.
      std::vector<std::pair<std::string, std::string>> entries(item.count);
      for (auto& [key, value] : entries)
        if (!canonical(rest, key, depth + 1) || !canonical(rest, value, depth + 1)) return false;
      std::sort(entries.begin(), entries.end());
      pk.map(item.count);
      for (auto& [k, v] : entries) out += k, out += v;
      return true;
    }
  }
  return false;
}

bool is_number(const mp::Item& i) {
  return i.kind == mp::Item::kUint || i.kind == mp::Item::kInt || i.kind == mp::Item::kFloat;
}

double as_double(const mp::Item& i) {
  switch (i.kind) {
    case mp::Item::kUint:
      return static_cast<double>(i.uint);
    case mp::Item::kInt:
      return static_cast<double>(i.sint);
    default:
      return i.real;
  }
}

// Structural equality with numbers within a relative tolerance (integers
// against integers stay exact). Both sides are in canonical form, so maps
// list their entries in the same order when their keys are the same, and
// equal scalars (and keys) have equal bytes. Advances both past the value.
bool near(std::string_view& a, std::string_view& b, double tol, int depth) {
  if (depth > kMaxDepth) return false;
  const std::string_view a_start = a, b_start = b;
  mp::Item x, y;
  if (!mp::read_item(a, x) || !mp::read_item(b, y)) return false;
  if (is_number(x) && is_number(y)) {
    if (x.kind != mp::Item::kFloat && y.kind != mp::Item::kFloat)
      return x.kind == y.kind && x.uint == y.uint && x.sint == y.sint;
    const double u = as_double(x), v = as_double(y);
    if (u == v) return true;
    if (std::isnan(u) || std::isnan(v)) return std::isnan(u) && std::isnan(v);
    return std::fabs(u - v) <= tol * std::max(std::fabs(u), std::fabs(v));
  }
  if (x.kind != y.kind) return false;
  if (x.kind == mp::Item::kArray || x.kind == mp::Item::kMap) {
    if (x.count != y.count) return false;
    for (uint32_t i = 0; i < x.count; ++i) {
      if (x.kind == mp::Item::kMap) {
        // Keys must be equal: compare their canonical bytes.
        const std::string_view ka = a, kb = b;
        mp::Item skip;
        if (!mp::read_item(a, skip) || !mp::read_item(b, skip)) return false;
        const long la = mp::object_size(reinterpret_cast<const uint8_t*>(ka.data()), ka.size());
        const long lb = mp::object_size(reinterpret_cast<const uint8_t*>(kb.data()), kb.size());
        if (la <= 0 || la != lb ||
            ka.substr(0, static_cast<size_t>(la)) != kb.substr(0, static_cast<size_t>(lb)))
          return false;
        a = ka.substr(static_cast<size_t>(la)), b = kb.substr(static_cast<size_t>(lb));
      }
      if (!near(a, b, tol, depth + 1)) return false;
    }
    return true;
  }
  // Other scalars: their bytes (nil, booleans, str, bin, ext).
  return a_start.substr(0, a_start.size() - a.size()) ==
         b_start.substr(0, b_start.size() - b.size());
}

bool comparable(const Vote& a, const Vote& b, const QuorumRule& rule) {
  return rule.tolerance > 0 || a.platform == b.platform;
}

}  // namespace

bool agree(const Vote& a, const Vote& b, const QuorumRule& rule) {
  if (!comparable(a, b, rule)) return false;
  if (a.canon == b.canon) return true;
  if (rule.tolerance <= 0) return false;
  // Not one msgpack value: only equal bytes agree.
  if (!mp::is_one_object(a.canon) || !mp::is_one_object(b.canon)) return false;
  std::string_view x = a.canon, y = b.canon;
  return near(x, y, rule.tolerance, 0);
}

bool disagrees(const Vote& vote, const Vote& accepted, const QuorumRule& rule) {
  return comparable(vote, accepted, rule) && !agree(vote, accepted, rule);
}

std::string canonical_msgpack(std::string_view bytes) {
  if (!mp::is_one_object(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size());
  std::string_view rest = bytes;
  return canonical(rest, out, 0) ? out : std::string(bytes);
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
