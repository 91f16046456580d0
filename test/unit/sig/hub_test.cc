#include "../../../lib/src/sig/hub.h"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace w::sig;

namespace {

// Records what the hub sends and closes, per connection.
struct FakeOutbox : Outbox {
  std::map<ConnId, std::vector<std::string>> sent;
  std::set<ConnId> closed;
  std::set<ConnId> full;  // their queues are full: send() drops
  bool send(ConnId c, std::string data, bool) override {
    if (full.count(c)) return false;
    sent[c].push_back(std::move(data));
    return true;
  }
  void close(ConnId c) override { closed.insert(c); }
  // Takes everything sent to `c` so far.
  std::vector<std::string> take(ConnId c) {
    auto v = std::move(sent[c]);
    sent[c].clear();
    return v;
  }
};

struct Fixture {
  SigOptions options;
  FakeOutbox out;
  int64_t now = 1000;
  std::unique_ptr<Hub> hub;
  explicit Fixture(SigOptions o = {}) : options(*normalise(std::move(o))) {
    hub = std::make_unique<Hub>(options, out, [this] { return now; });
  }
  // Connects `id` on connection `conn` and checks it got OPEN.
  void connect(ConnId conn, const std::string& id, const std::string& token = "t") {
    hub->open(conn, "peerjs", id, token);
    REQUIRE(out.take(conn) == std::vector<std::string>{R"({"type":"OPEN"})"});
  }
};

using Msgs = std::vector<std::string>;

}  // namespace

TEST_CASE("a new id gets OPEN: a refused socket gets the reason and is closed") {
  // Missing fields, wrong key, bad id: one ERROR each, then close.
  Fixture f;
  f.hub->open(1, "", "a", "t");
  CHECK(
      f.out.take(1) ==
      Msgs{
          R"({"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}})"});
  CHECK(f.out.closed.count(1));
  f.hub->open(2, "nope", "a", "t");
  CHECK(f.out.take(2) == Msgs{R"({"type":"ERROR","payload":{"msg":"Invalid key provided"}})"});
  f.hub->open(3, "peerjs", "a--b", "t");
  CHECK(f.out.take(3) == Msgs{R"({"type":"ERROR","payload":{"msg":"Invalid id provided"}})"});
  f.connect(4, "a");
  CHECK(f.hub->peers() == 1);
  CHECK(f.hub->stats().refused == 3);
}

TEST_CASE("an id with another token is taken: the same token takes over") {
  // ID-TAKEN for a stranger; the owner's new socket gets OPEN and the old closes.
  Fixture f;
  f.connect(1, "a", "t1");
  f.hub->open(2, "peerjs", "a", "t2");
  CHECK(f.out.take(2) == Msgs{R"({"type":"ID-TAKEN","payload":{"msg":"ID is taken"}})"});
  CHECK(f.out.closed.count(2));
  f.connect(3, "a", "t1");
  CHECK(f.out.closed.count(1));
  CHECK(f.hub->conn_of("a") == 3);
  f.hub->closed(1);  // the old socket's close must not remove the peer
  CHECK(f.hub->peers() == 1);
  f.hub->closed(3);
  CHECK(f.hub->peers() == 0);
}

TEST_CASE("the concurrent limit refuses new ids but not takeovers") {
  // Limit 1: a second id is refused; the first id's own reconnect is not.
  SigOptions o;
  o.concurrent_limit = 1;
  Fixture f(o);
  f.connect(1, "a");
  f.hub->open(2, "peerjs", "b", "t");
  CHECK(
      f.out.take(2) ==
      Msgs{R"({"type":"ERROR","payload":{"msg":"Server has reached its concurrent user limit"}})"});
  f.connect(3, "a");
}

TEST_CASE("transmissions reach dst with src set and the payload spliced") {
  // A forged src is replaced; the payload text is untouched.
  Fixture f;
  f.connect(1, "a");
  f.connect(2, "b");
  f.hub->message(1, R"({"type":"OFFER","src":"evil","dst":"b","payload":{"sdp": 1.50}})", false);
  CHECK(f.out.take(2) == Msgs{R"({"type":"OFFER","src":"a","dst":"b","payload":{"sdp": 1.50}})"});
  f.hub->message(1, R"({"type":"HEARTBEAT"})", false);
  f.hub->message(1, R"({"type":"NOPE","dst":"b"})", false);
  f.hub->message(1, "not json", true);
  CHECK(f.out.take(2).empty());
  CHECK(f.hub->stats().dropped == 2);
  CHECK(f.hub->stats().heartbeats == 1);
}

TEST_CASE("messages for an absent id are delivered after its OPEN, LEAVE is not kept") {
  // Two CANDIDATEs wait; LEAVE and EXPIRE to an absent id vanish.
  Fixture f;
  f.connect(1, "a");
  f.hub->message(1, R"({"type":"CANDIDATE","dst":"b","payload":1})", false);
  f.hub->message(1, R"({"type":"LEAVE","dst":"b"})", false);
  f.hub->message(1, R"({"type":"EXPIRE","dst":"b"})", false);
  f.hub->message(1, R"({"type":"CANDIDATE","dst":"b","payload":2})", false);
  f.hub->open(2, "peerjs", "b", "t");
  CHECK(f.out.take(2) == Msgs{R"({"type":"OPEN"})",
                              R"({"type":"CANDIDATE","src":"a","dst":"b","payload":1})",
                              R"({"type":"CANDIDATE","src":"a","dst":"b","payload":2})"});
}

TEST_CASE("an expired queue sends EXPIRE to its connected senders") {
  // At the expire timeout, a gets {"type":"EXPIRE","src":"b","dst":"a"}.
  Fixture f;
  f.connect(1, "a");
  f.hub->message(1, R"({"type":"OFFER","dst":"b"})", false);
  f.now += 4999;
  f.hub->tick();
  CHECK(f.out.take(1).empty());
  f.now += 1;
  f.hub->tick();
  CHECK(f.out.take(1) == Msgs{R"({"type":"EXPIRE","src":"b","dst":"a"})"});
  f.hub->open(2, "peerjs", "b", "t");
  CHECK(f.out.take(2) == Msgs{R"({"type":"OPEN"})"});
}

TEST_CASE("a peer silent for the alive timeout is closed and removed") {
  // b keeps talking and stays; a is silent and goes at 60 s.
  Fixture f;
  f.connect(1, "a");
  f.connect(2, "b");
  for (int i = 0; i < 70; ++i) {
    f.now += 1000;
    f.hub->message(2, R"({"type":"HEARTBEAT"})", false);
    f.hub->tick();
  }
  CHECK(f.out.closed.count(1));
  CHECK_FALSE(f.out.closed.count(2));
  CHECK(f.hub->conn_of("a") == 0);
  CHECK(f.hub->stats().timed_out == 1);
  f.hub->closed(1);
  CHECK(f.hub->peers() == 1);
}

TEST_CASE("fresh ids are not in use and prefix listing is sorted") {
  // ids_with_prefix("exp-") lists only that group's ids, in order.
  Fixture f;
  f.connect(1, "exp-2");
  f.connect(2, "exp-1");
  f.connect(3, "other");
  CHECK(f.hub->ids_with_prefix("exp-") == std::vector<std::string>{"exp-1", "exp-2"});
  CHECK(f.hub->fresh_id().size() == 36);
}

TEST_CASE("groups: create, join announcements, disconnect and timeouts") {
  // b joins a's group; a hears it; b's disconnect is announced; b's place
  // lapses after the member timeout and the empty group after the group one.
  SigOptions o;
  o.member_timeout_ms = 1000;
  o.group_timeout_ms = 2000;
  Fixture f(o);
  f.connect(1, "a");
  f.connect(2, "b");
  f.hub->message(1, R"({"type":"GROUP-CREATE","group":"lab"})", false);
  CHECK(f.out.take(1) == Msgs{R"({"type":"GROUP-MEMBERS","group":"lab","payload":["a"]})"});
  f.hub->message(2, R"({"type":"GROUP-JOIN","group":"lab"})", false);
  CHECK(f.out.take(2) == Msgs{R"({"type":"GROUP-MEMBERS","group":"lab","payload":["a","b"]})"});
  CHECK(f.out.take(1) == Msgs{R"({"type":"GROUP-JOIN","src":"b","group":"lab"})"});
  f.hub->closed(2);
  CHECK(f.out.take(1) == Msgs{R"({"type":"GROUP-LEAVE","src":"b","group":"lab"})"});
  CHECK(f.hub->groups().members("lab") == std::vector<std::string>{"a"});
  f.now += 1000;
  f.hub->tick();
  f.connect(3, "b");
  CHECK(f.out.take(1).empty());  // b's membership lapsed
  f.hub->closed(1);
  f.now += 1999;
  f.hub->tick();
  CHECK(f.hub->groups().count() == 1);
  f.now += 2000;
  f.hub->tick();
  CHECK(f.hub->groups().count() == 0);
}

TEST_CASE("relay: data flows inside the window: over it the circuit closes") {
  // Window 4 KiB: 4000 bytes pass, 200 more close the circuit on both sides.
  SigOptions o;
  o.relay_window = 4096;
  Fixture f(o);
  f.connect(1, "a");
  f.connect(2, "b");
  f.hub->message(1, R"({"type":"RELAY-OPEN","dst":"b"})", false);
  CHECK(f.out.take(2) == Msgs{R"({"type":"RELAY-OPEN","src":"a","window":4096})"});
  CHECK(f.out.take(1) == Msgs{R"({"type":"RELAY-OPEN","src":"b","window":4096})"});
  auto frame = [](std::string_view to, size_t n) {
    std::string s("\0", 1);
    s += static_cast<char>(to.size());
    s += to;
    s += std::string(n, 'x');
    return s;
  };
  f.hub->message(1, frame("b", 4000), true);
  auto got = f.out.take(2);
  REQUIRE(got.size() == 1);
  CHECK(got[0].substr(0, 3) == std::string("\0\1a", 3));
  CHECK(got[0].size() == 3 + 4000);
  CHECK(f.hub->relay().in_flight() == 4000);
  f.hub->message(2, R"({"type":"RELAY-ACK","dst":"a","bytes":1000})", false);
  CHECK(f.out.take(1) == Msgs{R"({"type":"RELAY-ACK","src":"b","bytes":1000})"});
  CHECK(f.hub->relay().in_flight() == 3000);
  f.hub->message(1, frame("b", 1200), true);
  CHECK(f.out.take(1) ==
        Msgs{R"({"type":"RELAY-CLOSE","src":"b","payload":{"msg":"Window exceeded"}})"});
  CHECK(f.out.take(2) ==
        Msgs{R"({"type":"RELAY-CLOSE","src":"a","payload":{"msg":"Window exceeded"}})"});
  CHECK(f.hub->relay().circuits() == 0);
  CHECK(f.hub->relay().in_flight() == 0);
}

TEST_CASE("relay: the per-peer circuit limit and a disconnect close circuits") {
  // Limit 1: a second circuit from a is refused; a's disconnect tells b.
  SigOptions o;
  o.relay_circuits = 1;
  Fixture f(o);
  f.connect(1, "a");
  f.connect(2, "b");
  f.connect(3, "c");
  f.hub->message(1, R"({"type":"RELAY-OPEN","dst":"b"})", false);
  f.out.take(1);
  f.out.take(2);
  f.hub->message(1, R"({"type":"RELAY-OPEN","dst":"c"})", false);
  CHECK(f.out.take(1) ==
        Msgs{R"({"type":"RELAY-CLOSE","src":"c","payload":{"msg":"Too many circuits"}})"});
  f.hub->closed(1);
  CHECK(f.out.take(2) ==
        Msgs{R"({"type":"RELAY-CLOSE","src":"a","payload":{"msg":"Peer disconnected"}})"});
  CHECK(f.hub->relay().circuits() == 0);
}

TEST_CASE("a flood costs the sender: dropped past its burst, disconnected deep in debt") {
  // Rate 10: a burst of 40 one-token messages passes, the next ones are
  // dropped, and at 40 tokens of debt the sender is told and closed; after
  // a second a sender within its rate passes again.
  SigOptions o;
  o.rate_limit = 10;
  Fixture f(o);
  f.connect(1, "a");
  f.connect(2, "b");
  f.connect(3, "c");
  const std::string to_b = R"({"type":"CANDIDATE","dst":"b","payload":1})";
  for (int i = 0; i < 45; ++i) f.hub->message(1, to_b, false);
  CHECK(f.out.take(2).size() == 40);
  CHECK(f.hub->stats().rate_limited == 5);
  for (int i = 0; i < 34; ++i) f.hub->message(1, to_b, false);
  CHECK(f.out.closed.count(1) == 0);
  f.hub->message(1, to_b, false);  // debt 40: out
  CHECK(f.out.take(1) == Msgs{R"({"type":"ERROR","payload":{"msg":"Too many messages"}})"});
  CHECK(f.out.closed.count(1) == 1);
  CHECK(f.hub->stats().flooders == 1);
  CHECK(f.hub->peers() == 2);
  // c spends its own bucket: a 3 KiB message costs 3 tokens.
  const std::string big =
      R"({"type":"OFFER","dst":"b","payload":")" + std::string(3000, 'x') + "\"}";
  for (int i = 0; i < 13; ++i) f.hub->message(3, big, false);
  CHECK(f.out.take(2).size() == 13);
  f.hub->message(3, big, false);
  CHECK(f.out.take(2).empty());
  f.now += 1000;
  f.hub->message(3, big, false);
  CHECK(f.out.take(2).size() == 1);
}

TEST_CASE("a receiver whose queue is full loses messages, not its connection") {
  // b stops reading: a's OFFER is dropped and counted; b stays a peer.
  Fixture f;
  f.connect(1, "a");
  f.connect(2, "b");
  f.out.full.insert(2);
  f.hub->message(1, R"({"type":"OFFER","dst":"b","payload":1})", false);
  CHECK(f.hub->stats().dropped_full == 1);
  CHECK(f.hub->stats().relayed == 0);
  CHECK(f.out.closed.empty());
  CHECK(f.hub->peers() == 2);
}

TEST_CASE("with a group secret, lab-x connected before lab was created is no member of it") {
  // lab-x needed no capability when it came; once lab is created it is not
  // listed, while lab-y, admitted with a join capability, is.
  SigOptions o;
  o.group_secret = "s3cret-s3cret-s3cret";
  Fixture f(o);
  f.connect(1, "lab-x");
  f.connect(2, "alice");
  auto cap = [&](const char* rights) {
    return *mint_group_capability(o.group_secret, "lab", rights);
  };
  f.hub->message(2, R"({"type":"GROUP-CREATE","group":"lab","cap":")" + cap("create") + "\"}",
                 false);
  CHECK(f.out.take(2) == Msgs{R"({"type":"GROUP-MEMBERS","group":"lab","payload":["alice"]})"});
  f.hub->open(3, "peerjs", "lab-y", cap("join"));
  CHECK(f.out.take(3) == Msgs{R"({"type":"OPEN"})"});
  CHECK(f.out.take(2) == Msgs{R"({"type":"GROUP-JOIN","src":"lab-y","group":"lab"})"});
  CHECK(f.hub->groups().members("lab") == std::vector<std::string>{"alice", "lab-y"});
  f.hub->closed(1);
  CHECK(f.out.take(2).empty());  // lab-x was never announced, nor is its leaving
}
