#include "w/dhrystone.h"

#include <catch2/catch.hpp>

#include <cmath>

TEST_CASE("Dhrystone's final values are what they should be, and it scores") {
  // A short calibrated run passes the built-in checks and gives a finite score.
  auto r = w::bench::run_dhrystone(0.05);
  REQUIRE(r.ok());
  CHECK(r->runs >= 1000);
  CHECK(r->seconds >= 0.05);
  CHECK(r->measurements >= 2);  // a twentieth of the time each: several, the best scored
  CHECK(static_cast<double>(r->runs) / r->dhrystones_per_second <= r->seconds);
  CHECK(std::isfinite(r->dhrystones_per_second));
  CHECK(r->dhrystones_per_second > 0);
  CHECK(r->dmips == Approx(r->dhrystones_per_second / 1757.0));
}

TEST_CASE("parallel Dhrystone gives one result per job") {
  // Two forked runs, each checked.
  auto r = w::bench::run_dhrystone_parallel(2, 0.05);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  for (const auto& one : *r) CHECK(one.dhrystones_per_second > 0);
}
