#include "../../../lib/src/sandbox/frame.h"

#include <catch2/catch.hpp>

using namespace w::sandbox;

TEST_CASE("frames split correctly however the bytes arrive") {
  // Three frames fed one byte at a time come out whole and in order.
  std::string wire;
  append_frame(wire, kFrameTask, "hello");
  append_frame(wire, kFrameResult, "ab", "cd");
  append_frame(wire, kFrameReady, "");
  FrameReader reader(1024);
  std::vector<Frame> got;
  for (char c : wire) {
    reader.append(&c, 1);
    Frame f;
    while (true) {
      auto r = reader.next(f);
      REQUIRE(r.ok());
      if (!*r) break;
      got.push_back(f);
    }
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0].type == kFrameTask);
  CHECK(got[0].payload == "hello");
  CHECK(got[1].payload == "abcd");
  CHECK(got[2].type == kFrameReady);
  CHECK(got[2].payload.empty());
  CHECK(reader.empty());
}

TEST_CASE("a frame announcing more than the limit is an error") {
  // A hostile length prefix must not make the reader wait for or allocate 4 GB.
  const char header[] = {'\xff', '\xff', '\xff', '\x7f', 12};
  FrameReader reader(1024);
  reader.append(header, sizeof header);
  Frame f;
  auto r = reader.next(f);
  CHECK_FALSE(r.ok());
}
