#include "w/gen.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "w/msgpack.h"

using namespace w::gen;

namespace {

// Runs a generator into a pipe and returns its records as JSON lines.
template <class Fn>
std::vector<std::string> collect(Fn&& fn) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  {
    w::stream::RecordWriter out(fds[1], w::stream::Format::kJson);
    REQUIRE(fn(out).ok());
    REQUIRE(out.flush().ok());
  }
  close(fds[1]);
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(all.substr(start, nl - start));
  return lines;
}

}  // namespace

TEST_CASE("range chunks by step, clipping the last chunk") {
  // 0..250 by 100: three chunks, the last one short.
  auto r = collect([](auto& out) { return range({0, 250, 100, 0}, out); });
  REQUIRE(r.size() == 3);
  CHECK(r[0] == R"({"min":0,"max":100})");
  CHECK(r[2] == R"({"min":200,"max":250})");
}

TEST_CASE("range --chunks splits evenly, widths differing by at most one") {
  // 10 into 3: 4, 3, 3.
  auto r = collect([](auto& out) { return range({0, 10, 0, 3}, out); });
  REQUIRE(r.size() == 3);
  CHECK(r[0] == R"({"min":0,"max":4})");
  CHECK(r[1] == R"({"min":4,"max":7})");
  CHECK(r[2] == R"({"min":7,"max":10})");
}

TEST_CASE("range rejects both or neither of step and chunks, and TO below FROM") {
  // Usage errors, not silent empty output.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  w::stream::RecordWriter out(fds[1], w::stream::Format::kJson);
  CHECK(range({0, 10, 0, 0}, out).code() == w::Code::kUsage);
  CHECK(range({0, 10, 1, 1}, out).code() == w::Code::kUsage);
  CHECK(range({10, 0, 1, 0}, out).code() == w::Code::kUsage);
  close(fds[0]);
  close(fds[1]);
}

TEST_CASE("grid is the cartesian product with the last key fastest, values typed") {
  // ints stay ints, decimals are doubles, words are strings.
  std::vector<GridAxis> axes = {*parse_grid_axis("lr=0.1,0.01"), *parse_grid_axis("act=relu,tanh")};
  auto r = collect([&](auto& out) { return grid(axes, out); });
  REQUIRE(r.size() == 4);
  CHECK(r[0] == R"({"lr":0.1,"act":"relu"})");
  CHECK(r[1] == R"({"lr":0.1,"act":"tanh"})");
  CHECK(r[3] == R"({"lr":0.01,"act":"tanh"})");
}

TEST_CASE("grid ranges a..b[:step] are inclusive and do not drift") {
  // 1..10:3 -> 1,4,7,10 ; 0..0.3:0.1 -> 0.0,0.1,0.2,0.3 exactly.
  auto ints = *parse_grid_axis("n=1..10:3");
  CHECK(ints.size() == 4);
  auto r = collect([](auto& out) { return grid({*parse_grid_axis("x=0..0.3:0.1")}, out); });
  REQUIRE(r.size() == 4);
  CHECK(r[3] == R"({"x":0.3})");
  CHECK_FALSE(parse_grid_axis("n=1..10:0").ok());
  CHECK_FALSE(parse_grid_axis("novalue").ok());
}

TEST_CASE("blocks name their neighbours and cell ranges") {
  // 2x3 blocks of 4x5 cells: rank 4 is row 1, col 1.
  auto r = collect([](auto& out) { return blocks({2, 3, 4, 5, 1}, out); });
  REQUIRE(r.size() == 6);
  CHECK(
      r[4] ==
      R"({"rank":4,"row":1,"col":1,"rows":2,"cols":3,"y0":4,"y1":8,"x0":5,"x1":10,"height":8,"width":15,"halo":1,"north":1,"south":null,"west":3,"east":5})");
}

TEST_CASE("CSV fields follow RFC 4180 quoting") {
  // Commas and doubled quotes inside quotes; an open quote asks for more input.
  std::vector<std::string> f;
  CHECK(split_csv(R"(1,"a,b","say ""hi""",)", f));
  REQUIRE(f.size() == 4);
  CHECK(f[1] == "a,b");
  CHECK(f[2] == "say \"hi\"");
  CHECK(f[3].empty());
  CHECK_FALSE(split_csv(R"(1,"open)", f));
}

TEST_CASE("typed literals: integers, doubles, booleans, and strings for the rest") {
  // "007" and "nan" stay strings: a leading zero or a non-finite value is not
  // what a person typing a grid means by a number.
  auto json_of = [](std::string_view text) {
    std::string mp;
    append_typed(text, mp);
    std::string json;
    REQUIRE(w::mp::to_json(mp, json).ok());
    return json;
  };
  CHECK(json_of("3") == "3");
  CHECK(json_of("-0.5") == "-0.5");
  CHECK(json_of("true") == "true");
  CHECK(json_of("007") == R"("007")");
  CHECK(json_of("nan") == R"("nan")");
}

TEST_CASE("a grid range of a billion values is computed on demand") {
  // Nothing is materialised: size() is arithmetic, value i is computed.
  auto axis = *parse_grid_axis("i=1..1e9");
  CHECK(axis.size() == 1000000000u);
  std::string mp;
  axis.append_value(999999999, mp);
  std::string json;
  REQUIRE(w::mp::to_json(mp, json).ok());
  CHECK(json == "1000000000");
}

TEST_CASE("seeds count from the base") {
  auto r = collect([](auto& out) { return seeds({3, 40}, out); });
  REQUIRE(r.size() == 3);
  CHECK(r[2] == R"({"seed":42,"index":2})");
}

TEST_CASE("csv with a header types its fields and rejects a short row") {
  char path[] = "/tmp/w_gen_csv_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string text = "a,b\n1,\"x,y\"\n\n2.5,z\n3\n";
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  w::Status st;
  {
    w::stream::RecordWriter out(fds[1], w::stream::Format::kJson);
    st = csv({path, 0, true}, out);
    REQUIRE(out.flush().ok());
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  unlink(path);
  CHECK(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) ==
        "{\"a\":1,\"b\":\"x,y\"}\n{\"a\":2.5,\"b\":\"z\"}\n");
  CHECK(st.code() == w::Code::kInvalid);
}
