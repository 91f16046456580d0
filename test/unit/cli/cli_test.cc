#include "w/cli.h"

#include <catch2/catch.hpp>

using w::cli::parse_count;
using w::cli::parse_seconds;

TEST_CASE("counts accept plain, scientific and suffixed forms") {
  // What people type for sizes: 1000, 1e9, 10k, 2M.
  CHECK(*parse_count("1000") == 1000);
  CHECK(*parse_count("1e9") == 1000000000LL);
  CHECK(*parse_count("10k") == 10000);
  CHECK(*parse_count("2M") == 2000000);
  CHECK(*parse_count("-5") == -5);
  CHECK(*parse_count("9007199254740993") == 9007199254740993LL);  // exact past 2^53
}

TEST_CASE("counts reject fractions, garbage and overflow") {
  // Every rejection explains itself.
  CHECK(parse_count("1.5").status().message() == "not a whole number: '1.5'");
  CHECK(parse_count("abc").status().message() == "not a number: 'abc'");
  CHECK_FALSE(parse_count("1e30").ok());
  CHECK_FALSE(parse_count("").ok());
}

TEST_CASE("durations accept seconds, ms, minutes and hours") {
  // 30 means seconds.
  CHECK(*parse_seconds("30") == 30);
  CHECK(*parse_seconds("1.5s") == 1.5);
  CHECK(*parse_seconds("250ms") == Approx(0.25));
  CHECK(*parse_seconds("2m") == 120);
  CHECK(*parse_seconds("1h") == 3600);
  CHECK_FALSE(parse_seconds("soon").ok());
  CHECK_FALSE(parse_seconds("-1").ok());
}

TEST_CASE("statuses map to named exit codes") {
  // A broken pipe is a clean stop; a missing file is EX_NOINPUT.
  CHECK(w::cli::exit_code_for(w::Status()) == 0);
  CHECK(w::cli::exit_code_for(w::Status(w::Code::kBrokenPipe, "")) == 0);
  CHECK(w::cli::exit_code_for(w::Status::NotFound("x")) == 66);
  CHECK(w::cli::exit_code_for(w::Status::Invalid("x")) == 65);
  CHECK(w::cli::exit_code_for(w::Status(w::Code::kFailed, "x")) == 1);
}
