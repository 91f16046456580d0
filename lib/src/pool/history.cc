#include "history.h"

#include <nlohmann/json.hpp>

namespace w::pool {

void History::add(HistorySample s) {
  if (s.campaigns.size() > kCampaigns) s.campaigns.resize(kCampaigns);
  if (ring_.size() < kSamples) {
    ring_.push_back(std::move(s));
    return;
  }
  ring_[next_] = std::move(s);
  next_ = (next_ + 1) % kSamples;
}

const HistorySample* History::last() const {
  if (ring_.empty()) return nullptr;
  return &ring_[(next_ + ring_.size() - 1) % ring_.size()];
}

nlohmann::json History::json(double interval_s, const std::string& scope) const {
  nlohmann::json samples = nlohmann::json::array();
  // Oldest first: from next_ to the end, then from the start (a ring not
  // yet full has next_ == 0 and is in order already).
  for (size_t i = 0; i < ring_.size(); ++i) {
    const HistorySample& s = ring_[(next_ + i) % ring_.size()];
    nlohmann::json campaigns = nlohmann::json::array();
    for (const HistoryCampaign& c : s.campaigns) {
      if (!scope.empty() && c.name != scope) continue;
      campaigns.push_back({{"name", c.name},
                           {"state", c.state},
                           {"rate", c.rate},
                           {"total", c.total},
                           {"done", c.done},
                           {"failed", c.failed},
                           {"leased", c.leased},
                           {"queued", c.queued}});
    }
    samples.push_back({{"t", s.t},
                       {"workers", s.workers},
                       {"slots", s.slots},
                       {"leased", s.leased},
                       {"results_total", s.results_total},
                       {"campaigns", std::move(campaigns)}});
  }
  return {{"interval_s", interval_s}, {"capacity", kSamples}, {"samples", std::move(samples)}};
}

}  // namespace w::pool
