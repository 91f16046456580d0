#include "w/sandbox.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <catch2/catch.hpp>

using w::sandbox::Reply;
using w::sandbox::Slot;
using w::sandbox::SlotConfig;

namespace {

SlotConfig config_for(const char* kernel) {
  SlotConfig c;
  c.kernel_path = std::string(W_KERNEL_DIR) + "/" + kernel;
  return c;
}

// Sends one task and waits for its reply or for the slot to end.
bool run_one(Slot& slot, const std::string& input, Reply& reply) {
  slot.queue_task(input);
  REQUIRE(slot.flush().ok());
  std::vector<Reply> replies;
  while (replies.empty()) {
    struct pollfd pfd = {slot.fd(), POLLIN, 0};
    REQUIRE(poll(&pfd, 1, 10000) == 1);
    auto open = slot.read_replies(replies);
    REQUIRE(open.ok());
    if (!*open && replies.empty()) return false;
  }
  reply = replies.front();
  return true;
}

// The 4-byte little-endian step counter steps.so checkpoints.
std::string step_state(uint32_t step) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = static_cast<char>(step >> (8 * i));
  return s;
}

// Runs one task to its answer, collecting the checkpoints sent before it.
Reply run_collecting(Slot& slot, const std::string& input, const std::string& restore,
                     std::vector<std::string>& checkpoints) {
  slot.queue_task(input, restore);
  REQUIRE(slot.flush().ok());
  while (true) {
    struct pollfd pfd = {slot.fd(), POLLIN, 0};
    REQUIRE(poll(&pfd, 1, 10000) == 1);
    std::vector<Reply> replies;
    auto open = slot.read_replies(replies);
    REQUIRE(open.ok());
    for (auto& r : replies) {
      if (!r.checkpoint) return r;
      checkpoints.push_back(r.output);
    }
    REQUIRE(*open);
  }
}

}  // namespace

TEST_CASE("a slot runs the kernel and returns its output") {
  // echo.so returns its input: bytes in equal bytes out.
  auto slot = Slot::start(config_for("echo.so"), 0);
  REQUIRE(slot.ok());
  Reply reply;
  const std::string input = "\x81\xa1x\x01";
  REQUIRE(run_one(**slot, input, reply));
  CHECK(reply.ok);
  CHECK(reply.output == input);
  CHECK(reply.ms >= 0);
}

TEST_CASE("a kernel given by a relative path loads and runs") {
  // `wrun --cache ./cache` hands the slots relative kernel paths; dlopen of
  // one asks getcwd, which the sandbox forbids: the slot must load it by
  // its absolute path.
  const std::string dir = W_KERNEL_DIR;
  const auto slash = dir.rfind('/');
  REQUIRE(slash != std::string::npos);
  char* old_cwd = getcwd(nullptr, 0);
  REQUIRE(chdir(dir.substr(0, slash).c_str()) == 0);
  SlotConfig c;
  c.kernel_path = dir.substr(slash + 1) + "/echo.so";
  auto slot = Slot::start(c, 0);
  REQUIRE(chdir(old_cwd) == 0);
  std::free(old_cwd);
  REQUIRE(slot.ok());
  Reply reply;
  REQUIRE(run_one(**slot, "\xa2ok", reply));
  CHECK(reply.ok);
  CHECK(reply.output == "\xa2ok");
}

TEST_CASE("a crashing kernel ends the slot and reap() names the signal") {
  // crash.so segfaults on {"crash": ...}.
  auto slot = Slot::start(config_for("crash.so"), 0);
  REQUIRE(slot.ok());
  Reply reply;
  CHECK_FALSE(run_one(**slot,
                      std::string("\x81\xa5"
                                  "crash\x01"),
                      reply));
  CHECK((*slot)->reap() == "crashed: SIGSEGV (Segmentation fault)");
}

TEST_CASE("a forbidden system call is trapped and named") {
  // netcall.so calls socket(); seccomp traps it and the slot reports which call.
  auto slot = Slot::start(config_for("netcall.so"), 0);
  REQUIRE(slot.ok());
  Reply reply;
  CHECK_FALSE(run_one(**slot, std::string("\x80"), reply));
  CHECK((*slot)->reap() == "forbidden system call: socket (the sandbox allows only computing)");
}

TEST_CASE("a file that is not a kernel fails at start with the loader's reason") {
  // Loading happens in the child; the parent gets the dlopen message.
  SlotConfig c;
  c.kernel_path = "/etc/hostname";
  auto slot = Slot::start(c, 0);
  REQUIRE_FALSE(slot.ok());
  CHECK(slot.status().message().find("load kernel") != std::string::npos);
}

TEST_CASE("destroying a slot kills and reaps its process") {
  // No zombie or stray process may outlive a Slot.
  pid_t pid;
  {
    auto slot = Slot::start(config_for("echo.so"), 0);
    REQUIRE(slot.ok());
    pid = (*slot)->pid();
  }
  CHECK(waitpid(pid, nullptr, WNOHANG) == -1);  // already reaped: not our child any more
  CHECK(errno == ECHILD);
}

TEST_CASE("checkpoints reach the worker in order, before the task's answer") {
  // steps.so checkpoints its step counter after each of 3 steps, under seccomp.
  auto slot = Slot::start(config_for("steps.so"), 0);
  REQUIRE(slot.ok());
  std::vector<std::string> checkpoints;
  Reply reply = run_collecting(**slot, "\x81\xa5steps\x03", "", checkpoints);
  CHECK(reply.ok);
  REQUIRE(checkpoints.size() == 3);
  for (uint32_t i = 0; i < 3; ++i) CHECK(checkpoints[i] == step_state(i + 1));
  // {"steps":3,"started":0,"ran":3}
  CHECK(reply.output.find(std::string("started\xce\0\0\0\0", 12)) != std::string::npos);
}

TEST_CASE("a task given a restore state resumes from it") {
  // Restored at step 2 of 3: one step runs, one checkpoint (3) is sent.
  auto slot = Slot::start(config_for("steps.so"), 0);
  REQUIRE(slot.ok());
  std::vector<std::string> checkpoints;
  Reply reply = run_collecting(**slot, "\x81\xa5steps\x03", step_state(2), checkpoints);
  CHECK(reply.ok);
  REQUIRE(checkpoints.size() == 1);
  CHECK(checkpoints[0] == step_state(3));
  CHECK(reply.output.find(std::string("started\xce\0\0\0\x02", 12)) != std::string::npos);
  CHECK(reply.output.find(std::string("ran\xce\0\0\0\x01", 8)) != std::string::npos);
  // The next task on the same slot starts fresh: the restore state was for one task only.
  checkpoints.clear();
  reply = run_collecting(**slot, "\x81\xa5steps\x01", "", checkpoints);
  CHECK(reply.ok);
  CHECK(checkpoints == std::vector<std::string>{step_state(1)});
}

TEST_CASE("the C++ helper packs checkpoints and unpacks the restore state") {
  // steps_hpp.so checkpoints i+1 with msgpack-c; restored from 2 of 3 it
  // returns [3, 2]; a restore state that is not an integer fails the task.
  auto slot = Slot::start(config_for("steps_hpp.so"), 0);
  REQUIRE(slot.ok());
  std::vector<std::string> checkpoints;
  Reply reply = run_collecting(**slot, "\x81\xa5steps\x03", "", checkpoints);
  CHECK(reply.ok);
  CHECK(checkpoints == std::vector<std::string>{"\x01", "\x02", "\x03"});
  CHECK(reply.output == std::string("\x92\x03\x00", 3));
  checkpoints.clear();
  reply = run_collecting(**slot, "\x81\xa5steps\x03", "\x02", checkpoints);
  CHECK(reply.output == std::string("\x92\x03\x02", 3));
  CHECK(checkpoints == std::vector<std::string>{"\x03"});
  reply = run_collecting(**slot, "\x81\xa5steps\x03", "\xa1x", checkpoints);
  CHECK_FALSE(reply.ok);
  CHECK(reply.error == "the checkpoint has the wrong type");
}

TEST_CASE("a kernel may print to stderr when the worker's stderr is a file") {
  // Regression: a zero RLIMIT_FSIZE killed the slot with SIGXFSZ as soon as
  // steps.so printed a line, when stderr was a log file (as under systemd).
  char path[] = "/tmp/w-slot-stderr-XXXXXX";
  const int log = mkstemp(path);
  REQUIRE(log >= 0);
  const int saved = dup(STDERR_FILENO);
  dup2(log, STDERR_FILENO);
  auto slot = Slot::start(config_for("steps.so"), 0);
  dup2(saved, STDERR_FILENO);
  close(saved);
  REQUIRE(slot.ok());
  std::vector<std::string> checkpoints;
  Reply reply = run_collecting(**slot, "\x82\xa5steps\x01\xa3log\x01", "", checkpoints);
  CHECK(reply.ok);
  CHECK(reply.error == "");
  char text[256] = {};
  CHECK(pread(log, text, sizeof text - 1, 0) > 0);
  CHECK(std::string(text) == "steps: step 1 of 1 done\n");
  close(log);
  unlink(path);
}

TEST_CASE("a link note the worker does not know is a protocol violation") {
  auto started = Slot::start(config_for("poison.so"), 0);
  REQUIRE(started.ok());
  Slot& slot = **started;
  slot.queue_task(
      "\x81\xa8"
      "bad_note"
      "\x01");
  REQUIRE(slot.flush().ok());
  std::string why;
  for (int turns = 0; turns < 100 && why.empty(); ++turns) {
    struct pollfd pfd = {slot.fd(), POLLIN, 0};
    REQUIRE(poll(&pfd, 1, 10000) == 1);
    std::vector<Reply> replies;
    auto open = slot.read_replies(replies);
    if (!open.ok()) why = open.status().message();
    for (const auto& r : replies) CHECK(r.call != w::sandbox::Call::kLinkNote);
    if (open.ok() && !*open) break;
  }
  CHECK(why.find("unknown link note") != std::string::npos);
}
