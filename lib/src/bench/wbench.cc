// Calibration, parallel runs and reporting around Dhrystone (dhry_*.cc).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "dhry.h"
#include "w/dhrystone.h"
#include "w/stream.h"

namespace w::bench {
namespace {

constexpr double kVaxDhrystones = 1757.0;
// Past this a measurement stops growing, and the next run count (at most 100
// times it) still fits a long, which has 32 bits in wasm32 (wbench.wasm).
constexpr long kMaxRuns = std::numeric_limits<long>::max() / 100;
constexpr int kMeasurements = 20;
// The score is the best of at least this many, even when one measurement
// took the whole time (a calibration step that overshot, or the machine
// taken away for a while): one alone is not a best of several.
constexpr int kMinMeasurements = 3;

}  // namespace

Result<DhrystoneResult> run_dhrystone(double min_seconds) {
  // The time is spent as kMeasurements equal measurements and the fastest
  // one is the score: other work on the machine (here, a VM's neighbours
  // took 10-30% in bursts of 0.2-1 s) can only slow a
  // measurement down, so the best one is the repeatable figure.
  const double each = min_seconds / kMeasurements;
  long runs = 1000;
  DhrystoneResult r;
  while (true) {
    const auto t0 = std::chrono::steady_clock::now();
    const char* wrong = dhry::run(runs);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (*wrong)
      return Status::Internal(fmt::format("Dhrystone value {} is not what it should be", wrong));
    if (secs >= each || runs > kMaxRuns) {
      r.runs = runs;
      r.seconds += secs;
      ++r.measurements;
      r.dhrystones_per_second = std::max(r.dhrystones_per_second, static_cast<double>(runs) / secs);
      if ((r.seconds >= min_seconds && r.measurements >= kMinMeasurements) || runs > kMaxRuns)
        break;
      // A measurement far past its share (the calibration overshot): the
      // next ones aim at their share again.
      if (secs > 2 * each)
        runs = std::max(1L, static_cast<long>(static_cast<double>(runs) * each / secs));
      continue;
    }
    // Aim a little past one measurement's length so the next run is one.
    const double factor = secs > 0.001 ? each / secs * 1.05 : 10.0;
    runs = static_cast<long>(static_cast<double>(runs) * std::min(std::max(factor, 1.1), 100.0));
  }
  r.dmips = r.dhrystones_per_second / kVaxDhrystones;
  return r;
}

Result<std::vector<DhrystoneResult>> run_dhrystone_parallel(int jobs, double min_seconds) {
  if (jobs <= 1) {
    auto r = run_dhrystone(min_seconds);
    if (!r.ok()) return r.status();
    return std::vector<DhrystoneResult>{*r};
  }
  std::vector<std::pair<pid_t, int>> children;
  for (int i = 0; i < jobs; ++i) {
    int fds[2];
    if (pipe(fds) != 0) return errno_status("pipe", errno);
    pid_t pid = fork();
    if (pid < 0) return errno_status("fork", errno);
    if (pid == 0) {
      close(fds[0]);
      auto r = run_dhrystone(min_seconds);
      DhrystoneResult out = r.ok() ? *r : DhrystoneResult{};
      ssize_t n = write(fds[1], &out, sizeof out);
      _exit(r.ok() && n == static_cast<ssize_t>(sizeof out) ? 0 : 1);
    }
    close(fds[1]);
    children.emplace_back(pid, fds[0]);
  }
  std::vector<DhrystoneResult> results;
  Status status;
  for (auto [pid, fd] : children) {
    DhrystoneResult r;
    ssize_t n = read(fd, &r, sizeof r);
    close(fd);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    if (n != static_cast<ssize_t>(sizeof r) || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
      status = Status::Internal("a Dhrystone process failed its check");
    results.push_back(r);
  }
  if (!status.ok()) return status;
  return results;
}

Status run_wbench(const WbenchOptions& o) {
  auto results = run_dhrystone_parallel(o.jobs, o.seconds);
  if (!results.ok()) return results.status();
  double total = 0;
  for (const auto& r : *results) total += r.dhrystones_per_second;
  std::string out;
  if (o.json) {
    out = fmt::format(
        "{{\"dhrystones_per_second\":{:.0f},\"dmips\":{:.1f},\"jobs\":{},\"per_core\":[", total,
        total / kVaxDhrystones, o.jobs);
    for (size_t i = 0; i < results->size(); ++i)
      out += fmt::format(
          "{}{{\"dhrystones_per_second\":{:.0f},\"dmips\":{:.1f},\"runs\":{},\"seconds\":{:.3f},"
          "\"measurements\":{}}}",
          i ? "," : "", (*results)[i].dhrystones_per_second, (*results)[i].dmips,
          (*results)[i].runs, (*results)[i].seconds, (*results)[i].measurements);
    out += "]}\n";
  } else {
    for (size_t i = 0; i < results->size(); ++i)
      out += fmt::format(
          "core {}: {:>14.0f} Dhrystones/s  {:>9.1f} DMIPS  (best of {} x {} runs, {:.2f} s)\n", i,
          (*results)[i].dhrystones_per_second, (*results)[i].dmips, (*results)[i].measurements,
          (*results)[i].runs, (*results)[i].seconds);
    if (o.jobs > 1)
      out += fmt::format("total ({} cores): {:>9.0f} Dhrystones/s  {:>9.1f} DMIPS\n", o.jobs, total,
                         total / kVaxDhrystones);
  }
  return stream::write_all(STDOUT_FILENO, out);
}

double cached_score(const std::string& cache_file) {
  {
    std::ifstream in(cache_file);
    double score = 0;
    if (in >> score && score > 0) return score;
  }
  auto r =
      run_dhrystone_parallel(1, 0.3);  // in a child: keeps Dhrystone's globals out of the caller
  if (!r.ok() || r->empty()) return 0;
  const double score = r->front().dhrystones_per_second;
  std::ofstream out(cache_file);
  out << fmt::format("{:.0f}\n", score);
  return score;
}

}  // namespace w::bench
