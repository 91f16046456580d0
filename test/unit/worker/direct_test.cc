// Direct links over real loopback TCP: two listeners in this process, as two
// wrun would have. Messages in order both ways (small and large), the
// handshake refused without the run's secret or for a member not here, and
// hostile bytes on the listener.
#include "../../../lib/src/worker/direct.h"
#include "../../../lib/src/worker/link_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using w::worker::DirectLinks;
using w::worker::LinkEvent;

namespace {

// A listener whose members are `ranks` of group "g1" with `secret`.
struct Side {
  std::unique_ptr<DirectLinks> links;
  std::vector<LinkEvent> events;
  Side(std::string secret, std::vector<int> ranks, bool tls = false) {
    auto l = w::worker::listen_direct(
        "127.0.0.1",
        [secret, ranks](const std::string& group, int rank) {
          for (int r : ranks)
            if (group == "g1" && r == rank) return secret;
          return std::string();
        },
        tls);
    REQUIRE(l.ok());
    links = std::move(*l);
  }
};

// Pumps both sides until `done` or 5 s.
template <class Done>
bool pump_until(Side& a, Side& b, Done done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    std::vector<pollfd> fds;
    a.links->pollfds(fds);
    b.links->pollfds(fds);
    ::poll(fds.data(), fds.size(), 10);
    a.links->pump(a.events);
    b.links->pump(b.events);
    if (done()) return true;
  }
  return false;
}

size_t count(const std::vector<LinkEvent>& events, LinkEvent::Kind kind) {
  size_t n = 0;
  for (const auto& e : events) n += e.kind == kind;
  return n;
}

int connect_to(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

}  // namespace

TEST_CASE("direct links carry bodies in order both ways once both ends proved the secret") {
  const bool tls = GENERATE(false, true);  // the pool's TLS: links run TLS 1.3 too
  INFO("tls " << tls);
  Side low("s3cret", {0}, tls), high("s3cret", {1}, tls);
  REQUIRE(low.links->address().rfind("127.0.0.1:", 0) == 0);
  high.links->dial("g1", 1, 0, low.links->address(), "s3cret");
  REQUIRE(pump_until(low, high, [&] {
    return count(low.events, LinkEvent::kUp) == 1 && count(high.events, LinkEvent::kUp) == 1;
  }));
  CHECK(low.links->up("g1", 0, 1));
  CHECK(high.links->up("g1", 1, 0));
  CHECK_FALSE(high.links->up("g1", 1, 2));

  // Small bodies and large ones (read in place), interleaved, each way.
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    std::string body = i % 10 == 3 ? std::string(256u << 10, static_cast<char>('a' + i % 26))
                                   : "m" + std::to_string(i);
    sent.push_back(body);
    REQUIRE(high.links->send("g1", 1, 0, body));
    REQUIRE(low.links->send("g1", 0, 1, body));
  }
  CHECK(high.links->backlog("g1", 1) > 0);
  auto data = [](const std::vector<LinkEvent>& ev) {
    std::vector<std::string> out;
    for (const auto& e : ev)
      if (e.kind == LinkEvent::kData) out.push_back(e.data);
    return out;
  };
  REQUIRE(pump_until(low, high, [&] {
    return data(low.events).size() == sent.size() && data(high.events).size() == sent.size();
  }));
  CHECK(data(low.events) == sent);
  CHECK(data(high.events) == sent);
  CHECK(high.links->backlog("g1", 1) == 0);
  for (const auto& e : low.events)
    if (e.kind == LinkEvent::kData) CHECK((e.local == 0 && e.remote == 1 && e.group == "g1"));

  // A member that ends closes its links: the other end sees it go down.
  high.links->close_member("g1", 1, true);
  REQUIRE(pump_until(low, high, [&] { return count(low.events, LinkEvent::kDown) == 1; }));
  for (const auto& e : low.events)
    if (e.kind == LinkEvent::kDown) CHECK(e.was_up);
  CHECK_FALSE(low.links->up("g1", 0, 1));
}

TEST_CASE("a dialer without the run's secret is refused and so is one that lies") {
  Side low("right", {0}), high("wrong", {1});
  high.links->dial("g1", 1, 0, low.links->address(), "wrong");
  REQUIRE(pump_until(low, high, [&] { return count(high.events, LinkEvent::kDown) == 1; }));
  CHECK(count(low.events, LinkEvent::kUp) == 0);
  CHECK(count(high.events, LinkEvent::kUp) == 0);
  CHECK_FALSE(high.events.back().was_up);
  CHECK(high.links->refused() == 1);  // the acceptor's answer did not prove the secret
  CHECK_FALSE(high.links->send("g1", 1, 0, "x"));

  // A member the listener does not hold; an address that is no address.
  Side other("right", {1});
  other.links->dial("g1", 1, 7, low.links->address(), "right");
  other.links->dial("g1", 1, 8, "not-an-address", "right");
  other.links->dial("g1", 1, 9, "example.org:80", "right");  // never looked up
  REQUIRE(pump_until(low, other, [&] { return count(other.events, LinkEvent::kDown) == 3; }));
  CHECK(count(low.events, LinkEvent::kUp) == 0);
}

TEST_CASE("hostile bytes on a listener are refused and bounded before any secret") {
  Side low("s", {0}), high("s", {1});
  // Not our magic; a group id longer than any; a hello for a member not here.
  const int junk = connect_to(low.links->address());
  REQUIRE(::write(junk, "GET / HTTP/1.1\r\n\r\n", 18) == 18);
  const int longid = connect_to(low.links->address());
  const std::string hello = std::string("WKL1") + static_cast<char>(200);
  REQUIRE(::write(longid, hello.data(), hello.size()) == static_cast<ssize_t>(hello.size()));
  // Many silent connections: more than may handshake at once.
  std::vector<int> silent;
  for (int i = 0; i < 40; ++i) silent.push_back(connect_to(low.links->address()));
  REQUIRE(pump_until(low, high, [&] { return low.links->refused() >= 2 + 8; }));
  char byte;
  CHECK(::read(junk, &byte, 1) == 0);  // closed by the listener
  CHECK(::read(longid, &byte, 1) == 0);
  ::close(junk);
  ::close(longid);
  // Meanwhile a real member still links (the silent ones time out later).
  for (int fd : silent) ::close(fd);
  high.links->dial("g1", 1, 0, low.links->address(), "s");
  REQUIRE(pump_until(low, high, [&] { return count(high.events, LinkEvent::kUp) == 1; }));
  CHECK(count(low.events, LinkEvent::kData) == 0);
}

TEST_CASE("a link runs TLS when either end's pool does") {
  const bool dialer_tls = GENERATE(false, true);
  INFO("the dialer runs TLS: " << dialer_tls);
  Side low("s", {0}, !dialer_tls), high("s", {1}, dialer_tls);
  high.links->dial("g1", 1, 0, low.links->address(), "s");
  REQUIRE(pump_until(low, high, [&] {
    return count(low.events, LinkEvent::kUp) == 1 && count(high.events, LinkEvent::kUp) == 1;
  }));
  REQUIRE(high.links->send("g1", 1, 0, "over TLS"));
  REQUIRE(pump_until(low, high, [&] { return count(low.events, LinkEvent::kData) == 1; }));
  CHECK(low.events.back().data == "over TLS");
}

TEST_CASE("over TLS the bytes after the proof are a TLS handshake and never plain frames") {
  // This test is the acceptor, by hand: it answers a TLS dialer's hello with
  // the proof, then reads what follows: the dialer's proof and a TLS record.
  Side high("s", {1}, true);
  const int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(l, 1) == 0);
  REQUIRE(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  high.links->dial("g1", 1, 0, "127.0.0.1:" + std::to_string(ntohs(a.sin_port)), "s");
  for (int i = 0; i < 20; ++i) high.links->pump(high.events);  // connects, sends its hello
  const int fd = ::accept(l, nullptr, nullptr);
  REQUIRE(fd >= 0);
  auto read_n = [&](size_t n) {
    std::string got;
    while (got.size() < n) {
      high.links->pump(high.events);
      char b[512];
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      const ssize_t r = ::read(fd, b, std::min(sizeof b, n - got.size()));
      REQUIRE(r > 0);
      got.append(b, static_cast<size_t>(r));
    }
    return got;
  };
  const std::string hello = read_n(4 + 1 + 2 + 8 + 16);  // "WKLT", "g1", ranks, nonce
  CHECK(hello.substr(0, 4) == "WKLT");
  unsigned char nonce_d[16], nonce_a[16] = {7};
  std::memcpy(nonce_d, hello.data() + 4 + 1 + 2 + 8, 16);
  std::string answer = "T" + std::string(reinterpret_cast<char*>(nonce_a), 16) +
                       w::worker::link::handshake_mac("s", "AT", "g1", 1, 0, nonce_d, nonce_a);
  REQUIRE(::write(fd, answer.data(), answer.size()) == static_cast<ssize_t>(answer.size()));
  const std::string proof = read_n(32);
  CHECK(proof == w::worker::link::handshake_mac("s", "DT", "g1", 1, 0, nonce_d, nonce_a));
  const std::string record = read_n(3);
  CHECK(record[0] == 0x16);  // a TLS handshake record: the ClientHello
  CHECK(record[1] == 0x03);
  CHECK_FALSE(high.links->up("g1", 1, 0));  // not before TLS is up
  ::close(fd);
  ::close(l);
}

TEST_CASE("a finished member's last message arrives before its link closes") {
  // Rank 0 keeps sending to rank 1, which finishes without reading it: its
  // link shuts down for writing and reads to the end, so rank 0 gets rank
  // 1's last message, then the close (not a reset that could lose it).
  Side low("s", {0}), high("s", {1});
  high.links->dial("g1", 1, 0, low.links->address(), "s");
  REQUIRE(pump_until(low, high, [&] {
    return count(low.events, LinkEvent::kUp) == 1 && count(high.events, LinkEvent::kUp) == 1;
  }));
  for (int i = 0; i < 8; ++i) REQUIRE(low.links->send("g1", 0, 1, std::string(1u << 20, 'x')));
  low.links->pump(low.events);  // into high's receive buffer, unread
  REQUIRE(high.links->send("g1", 1, 0, "last words"));
  high.links->close_member("g1", 1, true);
  CHECK_FALSE(high.links->up("g1", 1, 0));
  REQUIRE(pump_until(low, high, [&] { return count(low.events, LinkEvent::kDown) == 1; }));
  std::vector<std::string> got;
  for (const auto& e : low.events)
    if (e.kind == LinkEvent::kData) got.push_back(e.data);
  CHECK(got == std::vector<std::string>{"last words"});
  CHECK(low.events.back().kind == LinkEvent::kDown);
}

TEST_CASE("a link is handed to its member only once nothing of that direction is held here") {
  Side low("s", {0}), high("s", {1});
  high.links->dial("g1", 1, 0, low.links->address(), "s");
  REQUIRE(pump_until(low, high, [&] {
    return count(low.events, LinkEvent::kUp) == 1 && count(high.events, LinkEvent::kUp) == 1;
  }));
  // Reading: not before a body came (the peer may still send by the relay).
  CHECK(low.links->hand_reader("g1", 0, 1) < 0);
  // Writing: not while a body waits in the queue.
  const std::string big(8u << 20, 'b');
  REQUIRE(high.links->send("g1", 1, 0, big));
  REQUIRE(high.links->backlog("g1", 1) > 0);
  CHECK(high.links->hand_writer("g1", 1, 0) < 0);
  REQUIRE(pump_until(low, high, [&] { return count(low.events, LinkEvent::kData) == 1; }));
  const int wfd = high.links->hand_writer("g1", 1, 0);
  const int rfd = low.links->hand_reader("g1", 0, 1);
  REQUIRE(wfd >= 0);
  REQUIRE(rfd >= 0);
  CHECK(high.links->hand_writer("g1", 1, 0) < 0);  // once
  CHECK(low.links->hand_reader("g1", 0, 1) < 0);
  CHECK_FALSE(high.links->send("g1", 1, 0, "not ours to write now"));

  // The members' bytes go end to end, the workers' pumps keep out of them.
  const std::string frame = std::string("\x05\x00\x00\x00\x01\x01\x00\x00\x00", 9);
  REQUIRE(::write(wfd, frame.data(), frame.size()) == static_cast<ssize_t>(frame.size()));
  pollfd p{rfd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 5000) == 1);
  for (int i = 0; i < 5; ++i) {
    low.links->pump(low.events);
    high.links->pump(high.events);
  }
  CHECK(count(low.events, LinkEvent::kData) == 1);  // the member's, unread by its worker
  char got[16];
  REQUIRE(::read(rfd, got, sizeof got) == static_cast<ssize_t>(frame.size()));
  CHECK(std::string(got, frame.size()) == frame);

  // The member ends: the worker writes again (its finish), after the member's bytes.
  high.links->take_back("g1", 1);
  CHECK(high.links->send("g1", 1, 0, "done"));
  REQUIRE(::poll(&p, 1, 5000) == 1);
  REQUIRE(::read(rfd, got, sizeof got) == 8);
  CHECK(std::string(got, 8) == std::string("\x04\x00\x00\x00"
                                           "done",
                                           8));
  // A broken run wakes a member waiting on its link: the socket is shut down.
  low.links->shut_handed("g1");
  REQUIRE(::poll(&p, 1, 5000) == 1);
  CHECK(::read(rfd, got, sizeof got) == 0);
}

TEST_CASE("a TLS link is never handed to a member") {
  Side low("s", {0}, true), high("s", {1}, true);
  high.links->dial("g1", 1, 0, low.links->address(), "s");
  REQUIRE(pump_until(low, high, [&] {
    return count(low.events, LinkEvent::kUp) == 1 && count(high.events, LinkEvent::kUp) == 1;
  }));
  REQUIRE(high.links->send("g1", 1, 0, "x"));
  REQUIRE(pump_until(low, high, [&] { return count(low.events, LinkEvent::kData) == 1; }));
  CHECK(high.links->hand_writer("g1", 1, 0) < 0);
  CHECK(low.links->hand_reader("g1", 0, 1) < 0);
}
