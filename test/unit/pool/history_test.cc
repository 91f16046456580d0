#include "../../../lib/src/pool/history.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>

using namespace w::pool;

namespace {

HistorySample sample(double t, size_t campaigns) {
  HistorySample s;
  s.t = t;
  s.workers = 1;
  for (size_t i = 0; i < campaigns; ++i)
    s.campaigns.push_back({"c" + std::to_string(i), "running", 1.5, 10, 1, 0, 2, 7});
  return s;
}

}  // namespace

TEST_CASE("history: a ring of kSamples, oldest first, campaigns capped") {
  // The dashboard's hour is bounded: the ring keeps the newest kSamples
  // samples in time order, each with at most kCampaigns campaigns.
  History h;
  CHECK(h.last() == nullptr);
  CHECK(h.json(5)["samples"].empty());
  for (size_t i = 0; i < History::kSamples + 100; ++i)
    h.add(sample(static_cast<double>(i), i == History::kSamples + 99 ? 100 : 1));
  CHECK(h.size() == History::kSamples);
  const nlohmann::json j = h.json(5);
  CHECK(j["interval_s"] == 5);
  CHECK(j["capacity"] == History::kSamples);
  const auto& samples = j["samples"];
  REQUIRE(samples.size() == History::kSamples);
  CHECK(samples.front()["t"] == 100.0);
  CHECK(samples.back()["t"] == static_cast<double>(History::kSamples + 99));
  for (size_t i = 1; i < samples.size(); ++i)
    REQUIRE(samples[i]["t"].get<double>() > samples[i - 1]["t"].get<double>());
  CHECK(samples.back()["campaigns"].size() == History::kCampaigns);
  CHECK(samples.back()["campaigns"][0]["queued"] == 7);
  REQUIRE(h.last() != nullptr);
  CHECK(h.last()->t == static_cast<double>(History::kSamples + 99));
}

TEST_CASE("history: a ring not yet full is in order") {
  History h;
  h.add(sample(1, 0));
  h.add(sample(2, 3));
  const nlohmann::json j = h.json(0.5);
  REQUIRE(j["samples"].size() == 2);
  CHECK(j["samples"][0]["t"] == 1.0);
  CHECK(j["samples"][1]["campaigns"].size() == 3);
  CHECK(h.last()->t == 2.0);
}
