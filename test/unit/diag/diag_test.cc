#include "w/diag.h"

#include <catch2/catch.hpp>

TEST_CASE("diag::count says one thing, and many things") {
  CHECK(w::diag::count(1, "task") == "1 task");
  CHECK(w::diag::count(0, "task") == "0 tasks");
  CHECK(w::diag::count(2, "worker") == "2 workers");
  CHECK(w::diag::count(-1, "attempt") == "-1 attempts");
}
