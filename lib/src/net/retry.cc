// Retrying transient failures to connect: capped exponential backoff with
// jitter (net_client.h, Backoff). Native builds only: a browser page
// retries on its own timers.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "w/diag.h"
#include "w/net_client.h"

namespace w::net {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Backoff::Backoff(RetryOptions options)
    : options_(std::move(options)),
      schedule_(options_.first_delay, options_.max_delay),
      rng_(static_cast<unsigned>(::getpid() ^ static_cast<unsigned>(now_s() * 1e6))) {}

void Backoff::reset() {
  if (attempts_ > 0) diag::finish_progress();  // the last retry line stays, ended
  attempts_ = 0;
  schedule_.reset();
  first_failure_ = 0;
}

Result<bool> Backoff::wait(const Status& failure, std::string_view what) {
  if (!is_transient(failure)) return failure;
  const double now = now_s();
  if (attempts_++ == 0) first_failure_ = now;
  const double spent = now - first_failure_;
  if (options_.give_up_after > 0 && spent >= options_.give_up_after)
    return Status(Code::kTempFail,
                  fmt::format("{} unreachable for {:.0f} s ({} attempts), giving up: {}", what,
                              spent, attempts_, failure.message()));
  std::uniform_real_distribution<double> unit(0, 1);
  double wait = schedule_.next(unit(rng_));
  if (options_.give_up_after > 0)
    wait = std::min(wait, std::max(0.0, first_failure_ + options_.give_up_after - now));
  const std::string line = fmt::format("{} unreachable ({}); attempt {}, next in {:.1f} s", what,
                                       failure.message(), attempts_ + 1, wait);
  if (diag::stderr_is_tty())
    diag::progress(line);
  else
    diag::warning("{}", line);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait);
  while (std::chrono::steady_clock::now() < until) {
    if (options_.stop && options_.stop()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

Result<std::unique_ptr<Client>> Client::connect_retrying(const std::string& url,
                                                         const ClientOptions& options,
                                                         const RetryOptions& retry,
                                                         std::string_view what) {
  Backoff backoff(retry);
  while (true) {
    auto c = connect(url, options);
    if (c.ok()) {
      backoff.reset();
      return c;
    }
    auto again = backoff.wait(c.status(), what);
    if (!again.ok()) return again.status();
    if (retry.stop && retry.stop()) return c.status();
  }
}

}  // namespace w::net
