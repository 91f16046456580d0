// The pool's short memory, for the dashboard: every --history-interval
// (5 s by default) one sample of the worker count and, per campaign, its
// state, rate and task counts, kept in a ring of kSamples (an hour at 5 s),
// so that a dashboard opened now draws the last hour (GET /api/history)
// instead of what arrived since the page opened.
//
// Bounded: kSamples samples of at most kCampaigns campaigns each (the
// active ones, newest first), so the ring never holds more than
// kSamples * kCampaigns campaign points (~2 MB at most) however many
// campaigns the pool has.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace w::pool {

struct HistoryCampaign {
  std::string name;
  std::string state;  ///< one of campaign_state()'s words
  double rate = 0;    ///< finished tasks per second, smoothed
  int64_t total = 0, done = 0, failed = 0, leased = 0, queued = 0;
};

struct HistorySample {
  double t = 0;  ///< Unix time, seconds
  int64_t workers = 0, slots = 0, leased = 0;
  uint64_t results_total = 0;
  std::vector<HistoryCampaign> campaigns;
};

class History {
 public:
  static constexpr size_t kSamples = 720;
  static constexpr size_t kCampaigns = 32;

  /// Keeps `s` (its campaigns cut to kCampaigns), dropping the oldest
  /// sample once kSamples are held.
  void add(HistorySample s);
  size_t size() const { return ring_.size(); }
  /// The newest sample; nullptr before the first.
  const HistorySample* last() const;
  /// {"interval_s", "capacity", "samples": [oldest .. newest]}: the body of
  /// GET /api/history (w-protocol(7) HISTORY).
  /// Every sample, oldest first; with a scope, only that campaign's series.
  nlohmann::json json(double interval_s, const std::string& scope = "") const;

 private:
  std::vector<HistorySample> ring_;
  size_t next_ = 0;  // where the next sample goes once the ring is full
};

}  // namespace w::pool
