// RelayLink against a real wsig process: messages in order both ways, large
// messages through the credit window, a peer that connects late, and a peer
// that goes away.
#include "../../../lib/src/worker/relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using w::worker::RelayLink;

namespace {

// `wsig -p 0` on 127.0.0.1, its port read from the "listening on" line.
struct Wsig {
  pid_t pid = -1;
  int port = 0;
  explicit Wsig(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"wsig", "-p", "0", "-H", "127.0.0.1", "--relay-window", "4"};
    args.insert(args.end(), extra.begin(), extra.end());
    int err[2];
    REQUIRE(pipe(err) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(err[1], 2);
      close(err[0]);
      close(err[1]);
      const std::string bin = std::string(W_BIN_DIR) + "/wsig";
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(err[1]);
    std::string text;
    const std::regex listening("listening on [0-9.]+:([0-9]+)");
    std::smatch match;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::regex_search(text, match, listening) &&
           std::chrono::steady_clock::now() < deadline) {
      struct pollfd p = {err[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[512];
      ssize_t n = read(err[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    close(err[0]);
    REQUIRE(std::regex_search(text, match, listening));
    port = std::stoi(match[1]);
  }
  ~Wsig() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port) + "/"; }
};

// Pumps the links until `want` messages (or losses) reached `events`, or 10 s pass.
void pump_until(std::vector<RelayLink*> links, std::vector<RelayLink::Event>& events, size_t want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (events.size() < want && std::chrono::steady_clock::now() < deadline) {
    std::vector<struct pollfd> fds;
    for (RelayLink* l : links) fds.push_back({l->notify_fd(), POLLIN, 0});
    poll(fds.data(), fds.size(), 20);
    for (RelayLink* l : links) REQUIRE(l->pump(events).ok());
  }
}

}  // namespace

TEST_CASE("relay links carry messages in order, through the window, to a late peer") {
  Wsig sig;
  auto a = RelayLink::connect(sig.url(), "g7a1-r0");
  REQUIRE(a.ok());
  // b is not connected yet: a's messages wait and the circuit is retried.
  for (int i = 0; i < 20; ++i) REQUIRE((*a)->send("g7a1-r1", "m" + std::to_string(i)).ok());
  const std::string big(100000, 'x');  // 25 windows of 4096 bytes
  REQUIRE((*a)->send("g7a1-r1", big).ok());
  std::vector<RelayLink::Event> none;
  for (int i = 0; i < 5; ++i) {
    REQUIRE((*a)->pump(none).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  CHECK(none.empty());
  CHECK_FALSE((*a)->flushed());

  auto b = RelayLink::connect(sig.url() + "?key=peerjs", "g7a1-r1");
  REQUIRE(b.ok());
  std::vector<RelayLink::Event> got;
  pump_until({a->get(), b->get()}, got, 21);
  REQUIRE(got.size() == 21);
  for (int i = 0; i < 20; ++i) {
    CHECK(got[static_cast<size_t>(i)].peer == "g7a1-r0");
    CHECK(got[static_cast<size_t>(i)].data == "m" + std::to_string(i));
  }
  CHECK(got[20].data == big);

  // And back, on the circuit a opened.
  got.clear();
  REQUIRE((*b)->send("g7a1-r0", "back").ok());
  REQUIRE((*b)->send("g7a1-r0", "").ok());
  pump_until({a->get(), b->get()}, got, 2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].peer == "g7a1-r1");
  CHECK(got[0].data == "back");
  CHECK(got[1].data.empty());
  CHECK((*a)->flushed());

  // b goes away: a hears its circuit was lost.
  b->reset();
  got.clear();
  pump_until({a->get()}, got, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].lost);
  CHECK(got[0].peer == "g7a1-r1");
}

TEST_CASE("a relay link with a taken id is refused") {
  Wsig sig;
  auto a = RelayLink::connect(sig.url(), "g8-r0");
  REQUIRE(a.ok());
  auto b = RelayLink::connect(sig.url(), "g8-r0");
  REQUIRE(b.ok());  // the socket opens; wsig refuses the id on it
  std::vector<RelayLink::Event> events;
  w::Status s;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (s.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s = (*b)->pump(events);
  }
  CHECK_FALSE(s.ok());
}

TEST_CASE(
    "past wsig's --relay-links a relay link connects as a plain peer and still carries messages") {
  Wsig sig({"--relay-links", "1"});
  auto a = RelayLink::connect(sig.url(), "g9-r0");  // takes the one relay buffer
  REQUIRE(a.ok());
  auto b = RelayLink::connect(sig.url(), "g9-r1");  // refused 503 with it, then plain
  REQUIRE(b.ok());
  const std::string big(100000, 'y');
  REQUIRE((*b)->send("g9-r0", big).ok());
  REQUIRE((*a)->send("g9-r1", "hello").ok());
  std::vector<RelayLink::Event> got;
  pump_until({a->get(), b->get()}, got, 2);
  REQUIRE(got.size() == 2);
  for (const auto& e : got) CHECK((e.data == big ? e.peer == "g9-r1" : e.data == "hello"));
}
