#include "w/stream.h"

#include <unistd.h>

#include <csignal>

#include <catch2/catch.hpp>

#include "w/msgpack.h"

using namespace w::stream;

namespace {

// A pipe with `data` written into it and the write end closed.
int pipe_with(const std::string& data) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  REQUIRE(write(fds[1], data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  close(fds[1]);
  return fds[0];
}

std::vector<std::string> read_all_json(const std::string& data, w::Status* error = nullptr) {
  int fd = pipe_with(data);
  RecordReader reader(fd);
  std::vector<std::string> out;
  std::string rec;
  while (true) {
    auto got = reader.next(rec);
    if (!got.ok()) {
      if (error) *error = got.status();
      break;
    }
    if (!*got) break;
    std::string json;
    REQUIRE(w::mp::to_json(rec, json).ok());
    out.push_back(json);
  }
  close(fd);
  return out;
}

}  // namespace

TEST_CASE("JSON Lines input: blank lines skipped, last line without newline kept") {
  // Records come out as msgpack and convert back to the same JSON.
  auto recs = read_all_json("{\"a\":1}\n\n  {\"b\":[1,2]}\r\n{\"c\":\"x\"}");
  REQUIRE(recs.size() == 3);
  CHECK(recs[0] == R"({"a":1})");
  CHECK(recs[1] == R"({"b":[1,2]})");
  CHECK(recs[2] == R"({"c":"x"})");
}

TEST_CASE("msgpack input is detected from the first byte") {
  // Two maps back to back, no separators.
  std::string data;
  w::mp::Packer pk(data);
  pk.map(1);
  pk.str("a");
  pk.integer(1);
  pk.map(1);
  pk.str("b");
  pk.str("two");
  auto recs = read_all_json(data);
  REQUIRE(recs.size() == 2);
  CHECK(recs[1] == R"({"b":"two"})");
}

TEST_CASE("bad input names the line and the problem") {
  // A broken second line is an error that says "line 2".
  w::Status error;
  auto recs = read_all_json("{\"a\":1}\n{\"a\":\n", &error);
  CHECK(recs.size() == 1);
  CHECK(error.code() == w::Code::kInvalid);
  CHECK(error.message().find("stdin line 2: invalid JSON") != std::string::npos);
}

TEST_CASE("truncated msgpack at end of input is an error, not a silent loss") {
  // The map announces one entry but the stream stops.
  w::Status error;
  read_all_json(std::string("\x81\xa1"
                            "a"),
                &error);
  CHECK(error.message().find("truncated msgpack") != std::string::npos);
}

TEST_CASE("a record over the size cap is refused") {
  // A line longer than max_record bytes without a newline.
  int fd = pipe_with("{\"a\":\"" + std::string(5000, 'x'));
  RecordReader reader(fd, "stdin", 1024);
  std::string rec;
  auto got = reader.next(rec);
  CHECK_FALSE(got.ok());
  close(fd);
}

TEST_CASE("the writer reports a closed pipe as kBrokenPipe") {
  // Downstream `head` exits: writing must fail with EPIPE, not kill us.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  close(fds[0]);
  signal(SIGPIPE, SIG_IGN);
  RecordWriter writer(fds[1], Format::kJson);
  std::string rec =
      "\x81\xa1"
      "a\x01";
  REQUIRE(writer.write(rec).ok());  // buffered
  CHECK(writer.flush().code() == w::Code::kBrokenPipe);
  CHECK(writer.write(rec).code() == w::Code::kBrokenPipe);  // sticky
  close(fds[1]);
}
