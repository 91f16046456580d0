#include "w/executor.h"

#include <catch2/catch.hpp>

#include <map>

using namespace w::sandbox;

namespace {

ExecutorConfig config_for(const char* kernel, int slots, double timeout = 10) {
  ExecutorConfig c;
  c.slot.kernel_path = std::string(W_KERNEL_DIR) + "/" + kernel;
  c.slots = slots;
  c.timeout = timeout;
  return c;
}

std::string map_with_key(const std::string& key, uint8_t value) {
  std::string s = "\x81";
  s += static_cast<char>(0xa0 | key.size());
  s += key;
  s += static_cast<char>(value);
  return s;
}

std::map<uint64_t, Outcome> run_all(Executor& ex, const std::vector<std::string>& inputs) {
  std::map<uint64_t, Outcome> results;
  size_t next = 0;
  while (results.size() < inputs.size()) {
    while (next < inputs.size() && ex.can_accept()) ex.submit({next, inputs[next]}), ++next;
    std::vector<Outcome> done;
    REQUIRE(ex.poll(1000, done).ok());
    for (auto& o : done) results.emplace(o.id, o);
  }
  return results;
}

}  // namespace

TEST_CASE("every task gets exactly one outcome across slots") {
  // 1000 tasks on 2 slots: all answered once, outputs match inputs.
  Executor ex(config_for("echo.so", 2));
  REQUIRE(ex.start().ok());
  std::vector<std::string> inputs;
  for (int i = 0; i < 1000; ++i) inputs.push_back(map_with_key("x", static_cast<uint8_t>(i % 100)));
  auto results = run_all(ex, inputs);
  REQUIRE(results.size() == 1000);
  for (auto& [id, o] : results) {
    CHECK(o.ok);
    CHECK(o.output == inputs[id]);
  }
  CHECK(ex.in_flight() == 0);
  CHECK(ex.restarts() == 0);
}

TEST_CASE("a crash fails one task, requeues the rest and restarts the slot") {
  // The crashing task fails; the tasks queued behind it on that slot still succeed.
  Executor ex(config_for("crash.so", 1));
  REQUIRE(ex.start().ok());
  std::vector<std::string> inputs;
  for (int i = 0; i < 20; ++i) inputs.push_back(map_with_key(i == 5 ? "crash" : "x", 1));
  auto results = run_all(ex, inputs);
  REQUIRE(results.size() == 20);
  for (auto& [id, o] : results) CHECK(o.ok == (id != 5));
  CHECK(results[5].error == "crashed: SIGSEGV (Segmentation fault)");
  CHECK(ex.restarts() == 1);
}

TEST_CASE("a task past its timeout is killed and reported") {
  // loop.so spins on {"loop": ...}; the timeout is 0.3 s.
  Executor ex(config_for("loop.so", 1, 0.3));
  REQUIRE(ex.start().ok());
  auto results = run_all(ex, {map_with_key("loop", 1), map_with_key("x", 2)});
  CHECK(results[0].error == "timeout: still running after 0.3 s");
  CHECK(results[0].ms >= 300);
  CHECK(results[1].ok);
}

TEST_CASE("a kernel that cannot load fails start()") {
  // A missing file is reported with the loader's message.
  Executor ex(config_for("no-such-kernel.so", 1));
  auto s = ex.start();
  CHECK_FALSE(s.ok());
}

TEST_CASE("checkpoints reach on_checkpoint with their task's id, before its outcome") {
  // Two steps.so tasks on one slot, the second resumed at step 1 of 2: the
  // callback sees 1,2 for task 7 and 2 for task 8, each before that outcome.
  std::vector<std::string> events;
  ExecutorConfig c = config_for("steps.so", 1);
  c.on_checkpoint = [&](const w::sandbox::Task& task, std::string state) {
    REQUIRE(state.size() == 4);
    events.push_back(std::to_string(task.id) + ":" +
                     std::to_string(static_cast<uint8_t>(state[0])));
  };
  Executor ex(std::move(c));
  REQUIRE(ex.start().ok());
  const std::string two_steps = "\x81\xa5steps\x02";
  ex.submit({7, two_steps, {}});
  ex.submit({8, two_steps, std::string("\x01\0\0\0", 4)});
  while (ex.in_flight() > 0) {
    std::vector<Outcome> done;
    REQUIRE(ex.poll(1000, done).ok());
    for (auto& o : done) {
      CHECK(o.ok);
      events.push_back("done " + std::to_string(o.id));
    }
  }
  CHECK(events == std::vector<std::string>{"7:1", "7:2", "done 7", "8:2", "done 8"});
}
