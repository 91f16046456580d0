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

TEST_CASE("a task frame carries its restore state only when there is one") {
  // Without a checkpoint the frame is a plain task; with one, the payload
  // splits back into the dataset and the state.
  std::string wire;
  append_task_frame(wire, "\x81\xa1x\x01", "");
  append_task_frame(wire, "\x81\xa1x\x02", std::string("st\0te", 5));
  FrameReader reader(1024);
  reader.append(wire.data(), wire.size());
  Frame f;
  REQUIRE(*reader.next(f));
  CHECK(f.type == kFrameTask);
  CHECK(f.payload == "\x81\xa1x\x01");
  REQUIRE(*reader.next(f));
  CHECK(f.type == kFrameTaskRestore);
  std::string_view input, restore;
  REQUIRE(split_task_restore(f.payload, input, restore));
  CHECK(input == "\x81\xa1x\x02");
  CHECK(restore == std::string_view("st\0te", 5));
}

TEST_CASE("a restore payload whose dataset length runs past its end is rejected") {
  // The length prefix says 9 bytes of dataset, but only 2 follow.
  std::string_view input, restore;
  CHECK_FALSE(split_task_restore(std::string_view("\x09\x00\x00\x00ab", 6), input, restore));
  CHECK_FALSE(split_task_restore("ab", input, restore));
}
