#include "w/sandbox.h"

#include <poll.h>
#include <sys/wait.h>

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
