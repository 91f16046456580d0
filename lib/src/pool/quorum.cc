#include "quorum.h"

#include <msgpack.hpp>

#include <algorithm>
#include <map>
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

}  // namespace

std::string canonical_msgpack(std::string_view bytes) {
  if (!mp::is_one_object(bytes)) return std::string(bytes);
  try {
    msgpack::unpack_limit limit(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                                kMaxDepth);
    size_t off = 0;
    msgpack::object_handle h =
        msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
    std::string out;
    out.reserve(bytes.size());
    canonical(h.get(), out);
    return out;
  } catch (const std::exception&) {
    return std::string(bytes);
  }
}

Verdict judge(const std::vector<Vote>& votes, int outstanding, const QuorumRule& rule) {
  // Counted votes grouped by value: how many, and the first vote of each.
  std::map<std::string_view, std::pair<int, int>> groups;
  int counted = 0;
  for (int i = 0; i < static_cast<int>(votes.size()); ++i) {
    if (!votes[i].counted) continue;
    ++counted;
    auto [it, fresh] = groups.try_emplace(votes[i].canon, 0, i);
    ++it->second.first;
  }
  int best = 0, best_first = -1;
  for (const auto& [value, g] : groups)
    if (g.first > best || (g.first == best && g.second < best_first))
      best = g.first, best_first = g.second;
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
        counted, groups.size(), best, rule.quorum);
  }
  return v;
}

}  // namespace w::pool
