// The worker session (session.h) against a pool played by the test over an
// in-memory pipe, with the real native runner: an Executor of sandboxed
// slots running the test kernels (echo.so, steps.so). Every frame either
// way is what proto/ encodes and decodes, as on the wire.
#include "../../../lib/src/worker/session.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../../../lib/src/worker/executor_runner.h"
#include "../../../lib/src/worker/memory_transport.h"
#include "w/sha256.h"

namespace fs = std::filesystem;
using namespace w;
using namespace w::worker;

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// {key: value} as msgpack, value < 128.
std::string map_of(const std::string& key, uint8_t value) {
  std::string s = "\x81";
  s += static_cast<char>(0xa0 | key.size());
  s += key;
  s += static_cast<char>(value);
  return s;
}

// One worker (session + runner) and the pool's end of its connection. The
// kernel cache is a fresh directory, so the first campaign fetches.
struct Rig {
  MemoryPipe pipe;
  fs::path cache;
  ExecutorRunner runner;
  double stopped_clock = -1;  // >= 0: the session's clock stands still here
  Session session;
  std::vector<std::string> sent;  // frames the worker sent, in order

  explicit Rig(int jobs = 1)
      : cache(fs::temp_directory_path() /
              ("w-session-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_id()))),
        runner({cache.string(), jobs, 256, false, ""}),
        session({hello(), [this] { return stopped_clock >= 0 ? stopped_clock : now_ms(); },
                 [] {
                   return proto::Heartbeat{0.5, 1000};
                 }},
                pipe.a, runner) {}
  ~Rig() { fs::remove_all(cache); }

  static int next_id() {
    static int n = 0;
    return ++n;
  }
  static proto::WorkerHello hello() {
    proto::WorkerHello h;
    h.id = "unit-1";
    h.name = "unit";
    h.slots = 1;
    return h;
  }

  // The pool sends `frame`; the session handles it at once.
  Status deliver(const std::string& frame) {
    REQUIRE(pipe.b.send(frame).ok());
    std::string f;
    Status s;
    while (s.ok() && pipe.a.receive(f)) s = session.on_message(f);
    return s;
  }
  // The host's loop for up to `ms`, or until `done` holds: ticks, polls the
  // slots, and collects what the worker sends.
  void run(int ms, const std::function<bool()>& done) {
    const double until = now_ms() + ms;
    while (!done() && now_ms() < until && !session.finished()) {
      REQUIRE(session.tick().ok());
      std::vector<struct pollfd> fds;
      REQUIRE(runner.poll(std::min(session.wait_ms(), 20), fds).ok());
      collect();
    }
    collect();
  }
  void collect() {
    std::string f;
    while (pipe.b.receive(f)) sent.push_back(std::move(f));
  }
  // The frames of type `t` the worker sent.
  std::vector<std::string> of_type(const std::string& t) const {
    std::vector<std::string> out;
    for (const std::string& f : sent) {
      auto m = proto::decode_from_worker(f);
      REQUIRE(m.ok());
      const bool match = (t == "hello" && std::holds_alternative<proto::WorkerHello>(*m)) ||
                         (t == "results" && std::holds_alternative<proto::Results>(*m)) ||
                         (t == "fetch" && std::holds_alternative<proto::Fetch>(*m)) ||
                         (t == "bye" && std::holds_alternative<proto::Bye>(*m)) ||
                         (t == "checkpoint" && std::holds_alternative<proto::Checkpoint>(*m)) ||
                         (t == "heartbeat" && std::holds_alternative<proto::Heartbeat>(*m));
      if (match) out.push_back(f);
    }
    return out;
  }
  // Every result item sent, by task id.
  std::map<int64_t, proto::ResultItem> results() const {
    std::map<int64_t, proto::ResultItem> out;
    for (const std::string& f : sent) {
      // The items' views point into `f`, kept alive by `sent`.
      auto m = proto::decode_from_worker(f);
      REQUIRE(m.ok());
      if (auto* r = std::get_if<proto::Results>(&*m))
        for (const proto::ResultItem& i : r->items) out[i.task] = i;
    }
    return out;
  }

  // hello, welcome, a campaign of `kernel_file` (fetched, then loaded).
  void join(const std::string& kernel_file, int64_t timeout_ms = 10000) {
    REQUIRE(session.start().ok());
    proto::Welcome welcome;
    welcome.id = "unit-1";
    welcome.heartbeat_ms = 60000;
    welcome.max_frame = 1 << 20;
    REQUIRE(deliver(proto::encode(welcome)).ok());
    const std::string so = read_file(std::string(W_KERNEL_DIR) + "/" + kernel_file);
    REQUIRE(!so.empty());
    bind(so, timeout_ms);
  }
  void bind(const std::string& artifact, int64_t timeout_ms = 10000) {
    proto::CampaignBind c;
    c.campaign = 7;
    c.name = "unit";
    c.kernel = sha256_hex(artifact);
    c.timeout_ms = timeout_ms;
    REQUIRE(deliver(proto::encode(c)).ok());
    REQUIRE(deliver(proto::encode(proto::Artifact{c.kernel, artifact})).ok());
  }
  // The `size` members of group run `group`, all with `input`.
  Status members(const std::string& group, int size, const std::string& input) {
    proto::TasksBuilder b(7);
    for (int rank = 0; rank < size; ++rank) {
      proto::TaskItem t;
      t.id = 10 + rank;
      t.input = input;
      t.group = group;
      t.rank = rank;
      t.size = size;
      b.add(t);
    }
    return deliver(b.done());
  }
  Status tasks(const std::vector<std::string>& inputs, int64_t first_id = 1) {
    proto::TasksBuilder b(7);
    for (size_t i = 0; i < inputs.size(); ++i) {
      proto::TaskItem t;
      t.id = first_id + static_cast<int64_t>(i);
      t.input = inputs[i];
      b.add(t);
    }
    return deliver(b.done());
  }
};

}  // namespace

TEST_CASE("session: hello, welcome, campaign, fetch and a cached kernel") {
  Rig rig;
  rig.join("echo.so");
  rig.collect();
  // hello first, with the protocol version, then the fetch of the kernel.
  REQUIRE(rig.sent.size() == 2);
  auto hello = proto::decode_worker_hello(rig.sent[0]);
  REQUIRE(hello.ok());
  CHECK(hello->v == proto::kProtocolVersion);
  CHECK(hello->name == "unit");
  auto fetch = proto::decode_fetch(rig.sent[1]);
  REQUIRE(fetch.ok());
  CHECK(fetch->kernel == rig.session.kernel().sha);
  CHECK(rig.session.welcomed());
  CHECK(rig.session.max_frame() == (1u << 20));
  // The artifact is in the cache under its sha256: the next bind of that
  // kernel loads it without a fetch.
  CHECK(fs::exists(rig.cache / (rig.session.kernel().sha + ".so")));
  proto::CampaignBind again;
  again.campaign = 8;
  again.name = "again";
  again.kernel = rig.session.kernel().sha;
  REQUIRE(rig.deliver(proto::encode(again)).ok());
  rig.collect();
  CHECK(rig.of_type("fetch").size() == 1);
}

TEST_CASE("session: tasks run on the runner and come back as results") {
  Rig rig(2);
  rig.join("echo.so");
  std::vector<std::string> inputs;
  for (int i = 0; i < 50; ++i) inputs.push_back(map_of("x", static_cast<uint8_t>(i)));
  REQUIRE(rig.tasks(inputs, 100).ok());
  rig.run(10000, [&] { return rig.results().size() == inputs.size(); });
  auto results = rig.results();
  REQUIRE(results.size() == inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const proto::ResultItem& r = results.at(100 + static_cast<int64_t>(i));
    INFO(r.error);
    CHECK(r.ok);
    CHECK(r.output == inputs[i]);  // echo.so returns its input
  }
  // Results of a busy worker share messages.
  CHECK(rig.of_type("results").size() < inputs.size());
  CHECK(rig.runner.in_flight() == 0);
}

TEST_CASE("session: members of a group run report their rank and group, and abort stops them") {
  Rig rig(2);  // each member alone on a slot
  rig.join("ring.so");
  SECTION("a run that completes") {
    REQUIRE(rig.members("g1", 2, map_of("rounds", 3)).ok());
    rig.run(20000, [&] { return rig.results().size() == 2; });
    auto results = rig.results();
    REQUIRE(results.size() == 2);
    for (int rank = 0; rank < 2; ++rank) {
      const proto::ResultItem& r = results.at(10 + rank);
      CHECK(r.ok);
      CHECK(r.group == "g1");
      REQUIRE(r.rank.has_value());
      CHECK(*r.rank == rank);
    }
  }
  SECTION("the pool's abort") {
    // 100 rounds of 50 ms: running when the abort comes.
    std::string input = "\x82";
    input += map_of("rounds", 100).substr(1);
    input += map_of("sleep_ms", 50).substr(1);
    REQUIRE(rig.members("g2", 2, input).ok());
    rig.run(300, [] { return false; });
    REQUIRE(rig.runner.in_flight() == 2);
    REQUIRE(rig.deliver(proto::encode(proto::Abort{"g2", "a member failed elsewhere"})).ok());
    CHECK(rig.runner.in_flight() == 0);
    rig.run(300, [] { return false; });
    CHECK(rig.results().empty());  // stopped members give no result
  }
}

TEST_CASE("session: a kernel that cannot load fails its tasks with the reason") {
  Rig rig;
  REQUIRE(rig.session.start().ok());
  REQUIRE(rig.deliver(proto::encode(proto::Welcome{})).ok());
  rig.bind("this is not a shared object");
  REQUIRE(rig.tasks({map_of("x", 1), map_of("x", 2)}).ok());
  rig.run(5000, [&] { return rig.results().size() == 2; });
  auto results = rig.results();
  REQUIRE(results.size() == 2);
  CHECK_FALSE(results[1].ok);
  CHECK_FALSE(results[1].error.empty());
  CHECK(results[1].error == results[2].error);
}

TEST_CASE("session: drain finishes the running task, hands back the rest, then closes") {
  Rig rig;
  rig.join("steps.so");
  // One task of ~10 x 50 ms takes the only slot (the loop's first turn
  // hands it over).
  REQUIRE(rig.tasks({map_of("steps", 10)}, 1).ok());
  rig.run(100, [] { return false; });
  // Two more arrive with the pool's drain before the loop hands them over.
  REQUIRE(rig.tasks({map_of("steps", 4), map_of("steps", 4)}, 2).ok());
  REQUIRE(rig.deliver(proto::encode(proto::Drain{})).ok());
  CHECK(rig.session.draining());
  rig.collect();
  auto byes = rig.of_type("bye");
  REQUIRE(byes.size() == 1);
  auto bye = proto::decode_bye(byes[0]);
  REQUIRE(bye.ok());
  CHECK(bye->returned == std::vector<int64_t>{2, 3});
  CHECK_FALSE(rig.session.finished());
  rig.run(10000, [] { return false; });
  CHECK(rig.session.finished());
  CHECK(rig.pipe.b.closed());
  auto results = rig.results();
  REQUIRE(results.size() == 1);
  CHECK(results[1].ok);
  // The running task's result went after the bye, and nothing after it.
  CHECK(proto::decode_results(rig.sent.back()).ok());
}

TEST_CASE("session: a drain before the welcome just closes") {
  Rig rig;
  REQUIRE(rig.session.start().ok());
  REQUIRE(rig.session.drain().ok());
  CHECK(rig.session.finished());
  CHECK(rig.pipe.b.closed());
}

TEST_CASE("session: checkpoints are held to their interval, a result supersedes them") {
  Rig rig;
  rig.join("steps.so");
  // The session's clock stands still: after the first checkpoint, the
  // interval is never up, so the task's later ones are only held.
  rig.stopped_clock = 1e6;
  REQUIRE(rig.tasks({map_of("steps", 8)}).ok());
  rig.run(20000, [&] { return rig.results().size() == 1; });
  auto checkpoints = rig.of_type("checkpoint");
  REQUIRE(checkpoints.size() == 1);
  auto c = proto::decode_checkpoint(checkpoints[0]);
  REQUIRE(c.ok());
  CHECK(c->task == 1);
  CHECK(c->data.size() == 4);  // the next step, 4 little-endian bytes
  // The task succeeded: its held checkpoints are moot and never sent.
  CHECK(rig.results()[1].ok);
}

TEST_CASE("session: a failed task's held checkpoint goes before its result") {
  Rig rig;
  rig.join("steps.so", 1000);  // the campaign's timeout: 1 s
  rig.stopped_clock = 1e6;
  // 40 steps of ~50 ms: the timeout stops it after a few checkpoints.
  REQUIRE(rig.tasks({map_of("steps", 40)}).ok());
  rig.run(20000, [&] { return rig.results().size() == 1; });
  REQUIRE(rig.results().size() == 1);
  CHECK_FALSE(rig.results()[1].ok);
  auto checkpoints = rig.of_type("checkpoint");
  REQUIRE(checkpoints.size() >= 1);
  REQUIRE(checkpoints.size() <= 2);
  // The last frames: the latest checkpoint (if one was held), then the result.
  CHECK(proto::decode_results(rig.sent.back()).ok());
  if (checkpoints.size() == 2) {
    CHECK(rig.sent[rig.sent.size() - 2] == checkpoints[1]);
    auto first = proto::decode_checkpoint(checkpoints[0]);
    auto last = proto::decode_checkpoint(checkpoints[1]);
    REQUIRE(first.ok());
    REQUIRE(last.ok());
    CHECK(last->data > first->data);  // a later step (little-endian, < 256)
  }
}

TEST_CASE("session: heartbeats every heartbeat_ms, busy or not, never in a tight loop") {
  Rig rig;
  REQUIRE(rig.session.start().ok());
  proto::Welcome w;
  w.id = "unit-1";  // the welcome of a worker (heartbeat_ms goes with its id)
  SECTION("the pool's period") {
    w.heartbeat_ms = 100;
    REQUIRE(rig.deliver(proto::encode(w)).ok());
    rig.run(550, [] { return false; });
    const auto beats = rig.of_type("heartbeat");
    CHECK(beats.size() >= 2);
    CHECK(beats.size() <= 5);
    auto beat = proto::decode_heartbeat(beats.at(0));
    REQUIRE(beat.ok());
    CHECK(beat->load == 0.5);  // what SessionConfig::heartbeat said
  }
  SECTION("a pool asking for 0 ms gets one per kMinWaitMs") {
    w.heartbeat_ms = 0;
    REQUIRE(rig.deliver(proto::encode(w)).ok());
    rig.run(500, [] { return false; });
    // A message per loop turn would be hundreds.
    CHECK(rig.of_type("heartbeat").size() <= 11);
  }
}

TEST_CASE("session: malformed or out-of-turn pool messages are refused") {
  Rig rig;
  REQUIRE(rig.session.start().ok());
  SECTION("bytes that are not a message") {
    Status s = rig.deliver(std::string("\xc1garbage", 8));
    CHECK(s.code() == Code::kInvalid);
    CHECK(s.message().find("malformed message from the pool") != std::string::npos);
  }
  SECTION("tasks before the welcome") {
    CHECK(rig.tasks({map_of("x", 1)}).code() == Code::kInvalid);
    CHECK(rig.runner.in_flight() == 0);
  }
  SECTION("a second welcome") {
    REQUIRE(rig.deliver(proto::encode(proto::Welcome{})).ok());
    CHECK(rig.deliver(proto::encode(proto::Welcome{})).code() == Code::kInvalid);
  }
  SECTION("a welcome of another protocol version") {
    proto::Welcome w;
    w.v = proto::kProtocolVersion + 1;
    CHECK(rig.deliver(proto::encode(w)).code() == Code::kDenied);
    CHECK_FALSE(rig.session.welcomed());
  }
  SECTION("a refusal") {
    Status s = rig.deliver(proto::encode(proto::Error{"", "wrong key"}));
    CHECK(s.code() == Code::kDenied);
    CHECK(s.message() == "wrong key");
  }
  SECTION("a member whose rank is not below its group's size") {
    REQUIRE(rig.deliver(proto::encode(proto::Welcome{})).ok());
    proto::TaskItem t;
    t.id = 1;
    const std::string input = map_of("x", 1);
    t.input = input;
    t.group = "g1";
    t.rank = 2;
    t.size = 2;
    proto::TasksBuilder b(7);
    b.add(t);
    CHECK(rig.deliver(b.done()).code() == Code::kInvalid);
    CHECK(rig.runner.in_flight() == 0);
  }
  SECTION("an artifact that does not match the campaign's sha256") {
    REQUIRE(rig.deliver(proto::encode(proto::Welcome{})).ok());
    proto::CampaignBind c;
    c.campaign = 7;
    c.name = "unit";
    c.kernel = sha256_hex("the kernel");
    REQUIRE(rig.deliver(proto::encode(c)).ok());
    Status s = rig.deliver(proto::encode(proto::Artifact{c.kernel, "another kernel"}));
    CHECK(s.code() == Code::kInvalid);
    CHECK(s.message().find("does not match its sha256") != std::string::npos);
    CHECK_FALSE(fs::exists(rig.cache / (c.kernel + ".so")));
  }
  SECTION("a message type this worker does not know is ignored") {
    REQUIRE(rig.deliver(proto::encode(proto::Welcome{})).ok());
    CHECK(rig.deliver(std::string("\x81\xa1t\xa6") + "future").ok());
  }
}
