// wbench: rate this machine with Dhrystone 2.1.
#include <thread>

#include "w/cli.h"
#include "w/dhrystone.h"

int main(int argc, char** argv) {
  w::cli::Program prog(
      "wbench",
      "Rate this machine with Dhrystone 2.1: Dhrystones/s and DMIPS per core and in total.",
      "  wbench                    # one core, 2 s\n"
      "  wbench -j 0 --seconds 5   # every core at once\n"
      "  wbench --json | jq .dmips\n");
  CLI::App& app = prog.app();
  w::bench::WbenchOptions o;
  app.add_option("--seconds", o.seconds, "Shortest measurement per core, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  app.add_option("-j,--jobs", o.jobs, "Cores to run on at once (0 = all)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  app.add_flag("--json", o.json, "Print one JSON object");
  return prog.run(argc, argv, [&] {
    if (o.jobs == 0) o.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return w::bench::run_wbench(o);
  });
}
