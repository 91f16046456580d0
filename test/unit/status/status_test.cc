#include "w/status.h"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

namespace {

// Runs `fn` in a child process; returns its stderr and whether SIGABRT ended it.
template <class Fn>
std::pair<std::string, bool> in_child(Fn&& fn) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // not Catch's handler: the parent judges
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    fn();
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string err;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    err.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {err, WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT};
}

}  // namespace

TEST_CASE("the value of a Result holding an error is never read") {
  // Dereferencing an error Result aborts, naming the error, in every build
  // (it used to read an empty std::optional: undefined behaviour).
  auto [err, aborted] = in_child([] {
    w::Result<std::string> r = w::Status::Invalid("field 'error' is not a string");
    const std::string& s = *r;
    std::fprintf(stderr, "read %zu bytes\n", s.size());
  });
  CHECK(aborted);
  CHECK_THAT(err, Catch::Contains("holds an error: field 'error' is not a string"));
  CHECK_THAT(err, !Catch::Contains("read "));
  auto [err2, aborted2] = in_child([] {
    w::Result<int> r = w::Status::NotFound("no such task");
    std::fprintf(stderr, "%d\n", r.value());
  });
  CHECK(aborted2);
  CHECK_THAT(err2, Catch::Contains("no such task"));
}

TEST_CASE("a Result reads its value, or a fallback") {
  // value_or() for the callers that have a sensible default.
  w::Result<int> good = 5;
  w::Result<int> bad = w::Status::Invalid("x");
  CHECK(*good == 5);
  CHECK(good.value_or(1) == 5);
  CHECK(bad.value_or(1) == 1);
  // An ok Status carries no value: the Result holds an internal error.
  w::Result<int> empty = w::Status::Ok();
  CHECK_FALSE(empty.ok());
  CHECK(empty.status().code() == w::Code::kInternal);
}
