// wrun: run a kernel over a dataset stream with N sandboxed processes.
#include <thread>

#include "w/cli.h"
#include "w/dhrystone.h"
#include "w/filter.h"
#include "w/net_client.h"
#include "w/pool_worker.h"

namespace {

constexpr const char* kExamples =
    "  wgen range 0 10000 --step 100 | wrun -k build/kernels/divisible.so --static "
    "'{\"divisor\":123}'\n"
    "  wgen grid lr=0.1,0.01 hidden=8,16 | wrun -k mlp.so -j 2 -f msgpack > out.msgpack\n"
    "  wrun -k primes.so --timeout 30s --memory 256 --keep-going < datasets.jsonl\n"
    "  wrun ws://127.0.0.1:7070 -j 2          # pool mode: run what the pool sends\n"
    "  wrun wss://pool.example.org --cap \"$W_CAP\" --cacert lab-ca.pem\n";

}  // namespace

// CLI11 throws while the flags are declared only for a programming error (a
// flag named twice), which every test run would hit: terminating is right.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  w::cli::Program prog("wrun",
                       "Run a kernel over the datasets on stdin, one result record per dataset "
                       "on stdout (filter mode); or, given a pool URL, run what the pool sends.",
                       kExamples);
  CLI::App& app = prog.app();
  w::worker::FilterOptions o;
  std::string format = "json";
  std::string timeout = "60s";
  o.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  w::worker::PoolWorkerOptions p;
  app.add_option("pool", p.pool, "Pool URL (ws://HOST:PORT, wss://HOST): pool mode");
  app.add_option("-k,--kernel", o.kernel, "Kernel shared object (.so) to run (filter mode)");
  app.add_option("--static", o.static_arg,
                 "Static dataset for w_init: a JSON text or a file (JSON or msgpack)");
  app.add_option("-j,--jobs", o.jobs, "Slot processes running tasks in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--group", o.group,
                 "Run each dataset as K coupled members on K slots (w_send, w_recv, w_barrier)")
      ->type_name("K")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--timeout", timeout, "Wall-clock limit per task (30, 1.5s, 250ms, 2m; 0 = none)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--memory", o.memory_mb, "Address-space limit per slot process, in MB (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 24));
  app.add_flag("--insecure-sandbox", o.insecure_sandbox,
               "Without Landlock (Linux < 5.13), run kernels under seccomp alone instead of "
               "refusing to (see SECURITY in wrun(1))");
  app.add_flag("--keep-order", o.keep_order, "Write results in input order");
  app.add_flag("--keep-going", o.keep_going, "Run every task even after one failed");
  app.add_flag("!--no-input", o.include_input, "Leave the input out of result records");
  app.add_option("-f,--format", format, "Output format: json (JSON Lines) or msgpack")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "jsonl", "msgpack"}));
  app.add_option("--key", p.key, "Pool mode: the pool's shared key");
  app.add_option("--cap", p.cap, "Pool mode: a capability with the 'work' right")->type_name("CAP");
  app.add_option("--name", p.name, "Pool mode: name shown by 'wpool workers' (default: host name)");
  app.add_option("--sig", p.sig,
                 "Pool mode: wsig URL coupled tasks relay through (overrides the pool's)")
      ->type_name("URL");
  app.add_option("--link", p.link,
                 "Pool mode: where members take direct links from other workers' members: auto "
                 "(the address wsig is reached from), a HOST, or off (the relay only)")
      ->capture_default_str()
      ->type_name("HOST");
  app.add_option("--cache", p.cache_dir,
                 "Pool mode: cache of kernel artifacts (default ~/.cache/wkit)");
  w::net::TlsOptions tls;
  std::string retry_for = "0";
  std::string exit_idle = "0";
  app.add_option("--cacert", tls.cacert,
                 "Pool mode, wss://: trust the CAs in this PEM file instead of the system's")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", tls.insecure,
               "Pool mode, wss://: do not check certificates (warns; for tests only)");
  app.add_option("--retry-for", retry_for,
                 "Pool mode: keep retrying an unreachable pool this long (0 = forever)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--exit-idle", exit_idle,
                 "Pool mode: drain and exit after this long with no task (0 = never)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  return prog.run(argc, argv, [&]() -> w::Status {
    if (!p.pool.empty()) {
      if (!o.kernel.empty())
        return w::Status(w::Code::kUsage, "give a pool URL or --kernel, not both");
      w::net::set_default_tls(tls);
      p.retry_for = *w::cli::parse_seconds(retry_for);
      p.exit_idle = *w::cli::parse_seconds(exit_idle);
      p.jobs = o.jobs;
      p.memory_mb = o.memory_mb;
      p.insecure_sandbox = o.insecure_sandbox;
      p.score = w::worker::machine_score(p.cache_dir, &w::bench::cached_score);
      return w::worker::run_pool_worker(p);
    }
    if (o.kernel.empty())
      return w::Status(w::Code::kUsage,
                       "--kernel is required (or a pool URL for pool mode); see 'wrun --help'");
    o.format = *w::stream::parse_format(format);
    o.timeout = *w::cli::parse_seconds(timeout);
    return w::worker::run_filter(o);
  });
}
