// Result verification by replication (BOINC's validator), as pure logic the
// server calls and a unit test can drive without sockets.
//
// A task of a campaign with `replicas` R and `quorum` Q is computed by R
// different workers. Results are compared by their canonical MessagePack
// bytes, and only among workers of one platform (BOINC's homogeneous
// redundancy: a browser's float differs from a native one's in the last
// bits, and neither is wrong); with a tolerance, numbers are compared field
// by field within it, across platforms. The first value that Q counted
// results agree on is accepted; a vote that is comparable with it and
// differs disagrees (its worker is flagged). While
// no value has Q votes the task asks for just enough further replicas that a
// quorum becomes possible, up to `bound` results in all; a task that reaches
// the bound without a quorum fails ("no quorum: ...").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace w::pool {

/// The canonical form of one msgpack object, so that two encodings of one
/// value compare equal: integers and lengths in their shortest encoding,
/// float32 widened to float64, map entries sorted by their canonical key
/// bytes. Bytes that are not one object (or nest deeper than 64) come back
/// unchanged: they can still only agree with the same bytes.
std::string canonical_msgpack(std::string_view bytes);

/// One replica's result.
struct Vote {
  std::string worker;
  std::string platform;
  std::string output;  ///< as the worker sent it; what is stored if accepted
  std::string canon;   ///< canonical_msgpack(output): what is compared
  double ms = 0;
  bool counted = true;  ///< false once its worker is flagged: it no longer counts
};

struct QuorumRule {
  int replicas = 1;  ///< results wanted at first
  int quorum = 1;    ///< agreeing results that accept a value
  int bound = 1;     ///< most results ever collected for one task
  /// 0: results must be equal and of one platform. > 0: numbers agree when
  /// within this relative difference, and platforms are compared too.
  double tolerance = 0;
};

/// True if `a` and `b` count as the same value under `rule`.
bool agree(const Vote& a, const Vote& b, const QuorumRule& rule);

/// True if `vote` can be compared with `accepted` under `rule` (same
/// platform, or a tolerance) and differs from it: its worker is wrong.
bool disagrees(const Vote& vote, const Vote& accepted, const QuorumRule& rule);

struct Verdict {
  enum Kind { kWait, kAccept, kFail };
  Kind kind = kWait;
  int accepted = -1;  ///< kAccept: index of the first vote for the accepted value
  int wanted = 0;     ///< kWait: further replicas to hand out now
  std::string why;    ///< kFail: the error stored for the task
};

/// Judges the votes in for one task, `outstanding` replicas still running.
Verdict judge(const std::vector<Vote>& votes, int outstanding, const QuorumRule& rule);

}  // namespace w::pool
