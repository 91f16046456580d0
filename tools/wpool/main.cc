// wpool: the pool server (`wpool serve`) and its client commands.
#include "secret_new.h"
#include "w/cli.h"
#include "w/net_client.h"
#include "w/pool.h"

namespace {

constexpr const char* kExamples =
    "  wpool serve --db pool.db --listen 127.0.0.1:7070 &\n"
    "  wrun ws://127.0.0.1:7070 -j 2 &\n"
    "  wgen range 0 1e7 --step 1e4 | wpool submit primes --kernel build/kernels/primes.so\n"
    "  wgen seeds 1000 | wpool submit pi -k pi.so --replicas 2   # two workers must agree\n"
    "  wgen seeds 10 | wpool submit ring -k ring.so --group 4     # 4 ranks run each task "
    "together\n"
    "  wpool status\n"
    "  wpool wait primes && wpool results primes | jq -c .output\n"
    "  wpool workers --json\n"
    "  wpool workers unflag k-3f2a9c81d0e4b7a2\n"
    "  wpool secret new /etc/wkit/pool.secret          # once: the pool's secret, mode 0600\n"
    "  wpool serve --secret /etc/wkit/pool.secret &   # capabilities instead of an open pool\n"
    "  wrun ws://pool:7070 --cap \"$(wpool cap --secret /etc/wkit/pool.secret --rights work)\"\n"
    "  wpool cap --secret /etc/wkit/pool.secret --rights submit --campaign nightly --expires "
    "720h\n"
    "  wpool serve --listen 0.0.0.0:443 --sslkey key.pem --sslcert cert.pem   # https and wss\n"
    "  wpool status --pool wss://pool.example.org --cacert lab-ca.pem\n";

struct Options {
  w::pool::ServeOptions serve;
  w::pool::ClientOptions client;
  w::pool::SubmitOptions submit;
  w::cap::MintOptions mint;
  w::net::TlsOptions tls;
  std::string secret_file, expires = "0";
  std::string campaign, timeout = "60s", heartbeat = "5s", worker_timeout = "30s",
                        wait_timeout = "0", auth_timeout = "10s", retry_for = "30s",
                        history_interval = "5s";
  std::string format = "json", path, name;
  long long since = 0;
  bool json = false, follow = false;
  bool cancelled = false;  // set by wait: the campaign was cancelled
};

void add_client_options(CLI::App& sub, Options& o) {
  sub.add_option("--pool", o.client.pool, "Pool URL")->capture_default_str();
  sub.add_option("--key", o.client.key, "Shared key of the pool");
  sub.add_option("--cap", o.client.cap, "Capability (from 'wpool cap') with the rights needed")
      ->type_name("CAP");
  sub.add_option("--cacert", o.tls.cacert,
                 "wss://: trust the CAs in this PEM file instead of the system's")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  sub.add_flag("--insecure", o.tls.insecure,
               "wss://: do not check the pool's certificate (warns; for tests only)");
  sub.add_option("--retry-for", o.retry_for,
                 "Keep retrying an unreachable pool this long (0 = forever)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
}

// The client options once parsed, with the TLS and retry flags applied:
// what every client command runs with.
const w::pool::ClientOptions& client(Options& o) {
  w::net::set_default_tls(o.tls);
  o.client.retry_for = *w::cli::parse_seconds(o.retry_for);
  return o.client;
}

// One function per subcommand for its options and one for what it runs;
// the table at the end of the file names them.

void serve_options(CLI::App& serve, Options& o) {
  serve
      .add_option("--db", o.serve.db, "SQLite file, or postgresql:// URL, holding the pool's state")
      ->capture_default_str();
  serve
      .add_option("--listen", o.serve.listen,
                  "Address to listen on: HOST:PORT, [IPV6]:PORT or *:PORT (port 0 = any free)")
      ->capture_default_str();
  serve
      .add_option("--secret", o.secret_file,
                  "File with the HMAC secret of capabilities (created if missing)")
      ->type_name("FILE");
  serve.add_option("--key", o.serve.key, "A plain shared key with every right (for a LAN)");
  serve.add_option("--heartbeat", o.heartbeat, "Interval of worker heartbeats")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  serve.add_option("--worker-timeout", o.worker_timeout, "Drop a worker silent this long")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  serve
      .add_option("--history-interval", o.history_interval,
                  "Interval of the dashboard's history samples (720 kept: 1 h at 5 s)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) {
            auto s = w::cli::parse_seconds(text);
            return s.ok() && *s >= 0.1 && *s <= 3600 ? std::string()
                                                     : "'" + text + "' is not 0.1s to 1h";
          },
          "DURATION"));
  serve.add_option("--max-frame", o.serve.max_frame, "Largest message accepted, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  serve
      .add_option("--max-kernel", o.serve.max_kernel,
                  "Largest kernel artifact stored, in bytes (larger uploads are refused)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  serve
      .add_option("--max-connections", o.serve.max_connections,
                  "Most connections at once (half at most before their hello)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  serve
      .add_option("--auth-timeout", o.auth_timeout,
                  "Close a connection without a valid hello this long")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  serve
      .add_option("--www", o.serve.www,
                  "Directory of the browser app to serve (default: build/www beside bin/, or "
                  "the installed share/wkit/www)")
      ->check(CLI::ExistingDirectory);
  serve
      .add_option("--sig", o.serve.sig,
                  "wsig server coupled tasks relay through, passed to workers (ws://HOST:PORT/)")
      ->type_name("URL");
  serve.add_option("--sslkey", o.serve.ssl_key, "PEM private key: serve https and wss only")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  serve
      .add_option("--sslcert", o.serve.ssl_cert,
                  "PEM certificate chain for --sslkey (both read again on SIGHUP)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  serve
      .add_option("--ice-server", o.serve.ice_servers,
                  "STUN or TURN server for the pages' DataChannels (stun:HOST:PORT, "
                  "turn:HOST:PORT?transport=udp); repeatable, at most 16")
      ->type_name("URL")
      ->delimiter(',');
  serve.add_option("--ice-username", o.serve.ice_username, "User name on the turn: servers")
      ->type_name("NAME");
  serve
      .add_option("--ice-credential", o.serve.ice_credential,
                  "Password on the turn: servers (pages see it: give TURN-only users)")
      ->type_name("TEXT");
}

w::Status run_serve(Options& o) {
  o.serve.heartbeat = *w::cli::parse_seconds(o.heartbeat);
  o.serve.worker_timeout = *w::cli::parse_seconds(o.worker_timeout);
  o.serve.auth_timeout = *w::cli::parse_seconds(o.auth_timeout);
  o.serve.history_interval = *w::cli::parse_seconds(o.history_interval);
  if (!o.secret_file.empty()) {
    auto secret = w::cap::load_or_create_secret(o.secret_file);
    if (!secret.ok()) return secret.status();
    o.serve.secret = *secret;
  }
  return w::pool::serve(o.serve);
}

void submit_options(CLI::App& submit, Options& o) {
  submit.add_option("campaign", o.submit.campaign, "Campaign name")->required();
  submit.add_option("-k,--kernel", o.submit.kernel,
                    "Kernel .so (uploaded) or the sha256 of one on the pool");
  submit.add_option("--kernel-wasm", o.submit.kernel_wasm,
                    "Kernel .wasm for browser workers (default: the .wasm beside the .so)");
  submit.add_option("--static", o.submit.static_arg, "Static dataset: a JSON text or a file");
  submit.add_option("--timeout", o.timeout, "Wall-clock limit per task")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  submit.add_option("--max-attempts", o.submit.max_attempts, "Attempts before a task is failed")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  submit
      .add_option("--replicas", o.submit.replicas,
                  "Different workers that compute each task, results compared")
      ->capture_default_str()
      ->check(CLI::Range(1, w::pool::kMaxReplicas));
  submit
      .add_option("--quorum", o.submit.quorum,
                  "Agreeing results that accept a task's output (default: a majority)")
      ->check(CLI::Range(1, w::pool::kMaxReplicas));
  submit
      .add_option("--quorum-tolerance", o.submit.quorum_tolerance,
                  "Replicas agree when their numbers differ by at most this relative amount "
                  "(compared across platforms); 0: equal, and only among one platform")
      ->type_name("REL")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  submit
      .add_option("--priority", o.submit.priority,
                  "Higher runs first; above 0 needs the 'admin' right")
      ->capture_default_str();
  submit
      .add_option("--group", o.submit.group,
                  "Coupled campaign: K members (ranks) run each task together, on K slots")
      ->type_name("K")
      ->capture_default_str()
      ->check(CLI::Range(1, w::pool::kMaxGroup));
  submit.add_flag_callback(
      "--no-speculate", [&o] { o.submit.speculate = false; },
      "No speculative copies: idle workers do not rerun this campaign's last running tasks "
      "(default: they do, unless --replicas or --group)");
  submit.add_option("--once-key", o.submit.once_key,
                    "Resumable: skip the records already stored under this key, add the rest");
  submit.add_option("--batch", o.submit.batch, "Datasets per message")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  add_client_options(submit, o);
}

w::Status run_submit(Options& o) {
  o.submit.timeout = *w::cli::parse_seconds(o.timeout);
  return w::pool::submit(client(o), o.submit);
}

void status_options(CLI::App& status, Options& o) {
  status.add_option("campaign", o.campaign, "Only this campaign");
  status.add_flag("--json", o.json, "Print JSON");
  add_client_options(status, o);
}

w::Status run_status(Options& o) {
  return w::pool::status(client(o), o.campaign, o.json);
}

void wait_options(CLI::App& wait, Options& o) {
  wait.add_option("campaign", o.campaign, "Campaign name")->required();
  wait.add_option("--timeout", o.wait_timeout, "Give up after this long (0 = never)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  add_client_options(wait, o);
}

w::Status run_wait(Options& o) {
  return w::pool::wait(client(o), o.campaign, *w::cli::parse_seconds(o.wait_timeout), &o.cancelled);
}

// `wpool wait` promises 124 for a timeout (as timeout(1), so cron and
// scripts tell it from a usage error, 2) and 3 for a cancelled campaign (1
// is a campaign with failures).
int wait_exit_code(const w::Status& s, const Options& o) {
  if (o.cancelled) return w::pool::kExitCancelled;
  return s.code() == w::Code::kTimeout ? w::cli::kExitTimeout : w::cli::exit_code_for(s);
}

void results_options(CLI::App& results, Options& o) {
  results.add_option("campaign", o.campaign, "Campaign name")->required();
  results.add_option("--since", o.since, "Skip the first N results")->check(CLI::NonNegativeNumber);
  results.add_flag("--follow", o.follow, "Keep printing results until the campaign is complete");
  results.add_option("-f,--format", o.format, "Output format: json or msgpack")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "jsonl", "msgpack"}));
  add_client_options(results, o);
}

w::Status run_results(Options& o) {
  return w::pool::results(client(o), o.campaign, o.since, o.follow,
                          *w::stream::parse_format(o.format), 1);
}

void workers_options(CLI::App& workers, Options& o) {
  workers.add_flag("--json", o.json, "Print JSON");
  add_client_options(workers, o);
}

w::Status run_workers(Options& o) {
  return w::pool::workers(client(o), o.json);
}

void unflag_options(CLI::App& unflag, Options& o) {
  unflag.add_option("worker", o.name, "Worker id, as 'wpool workers' shows it")->required();
  add_client_options(unflag, o);
}

w::Status run_unflag(Options& o) {
  return w::pool::unflag(client(o), o.name);
}

void campaign_options(CLI::App& sub, Options& o) {
  sub.add_option("campaign", o.campaign, "Campaign name")->required();
  add_client_options(sub, o);
}

template <const char* verb>
w::Status run_control(Options& o) {
  return w::pool::control(client(o), verb, o.campaign);
}
constexpr char kCancel[] = "cancel", kPause[] = "pause", kResume[] = "resume", kDelete[] = "delete";

void kernel_add_options(CLI::App& kadd, Options& o) {
  kadd.add_option("path", o.path, "Kernel file")->required()->check(CLI::ExistingFile);
  kadd.add_option("--name", o.name, "Name to show (default: the file name)");
  add_client_options(kadd, o);
}

w::Status run_kernel_add(Options& o) {
  return w::pool::kernel_add(client(o), o.path, o.name);
}

w::Status run_kernel_list(Options& o) {
  return w::pool::kernel_list(client(o));
}

void cap_options(CLI::App& cap, Options& o) {
  cap.add_option("--secret", o.mint.secret_file,
                 "Mint with the pool's secret file (never created: see 'wpool secret new')")
      ->type_name("FILE");
  cap.add_option("--key", o.mint.key, "Mint with the pool's shared key as the secret")
      ->type_name("KEY");
  cap.add_option("--rights", o.mint.rights, "Rights: work, submit, admin, all (comma-separated)")
      ->type_name("RIGHTS")
      ->required();
  cap.add_option("--campaign", o.mint.object, "Campaign it is for, or * for all")
      ->type_name("NAME")
      ->capture_default_str();
  cap.add_option("--expires", o.expires, "Valid for this long (30m, 24h, 720h; 0 = forever)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
}

w::Status run_cap(Options& o) {
  o.mint.expires_in = *w::cli::parse_seconds(o.expires);
  auto text = w::cap::mint_with(w::pool::kService, o.mint, w::pool::right_names(), "campaign");
  if (!text.ok()) return text.status();
  return w::stream::write_all(1, *text + "\n");
}

using Command = w::cli::Command<Options>;

constexpr Command kWorkersCommands[] = {
    {"unflag", "Lift a worker's flag (it disagreed with a quorum): it gets tasks again",
     unflag_options, run_unflag},
};

constexpr Command kKernelCommands[] = {
    {"add", "Upload a kernel (.so or .wasm); prints its sha256", kernel_add_options,
     run_kernel_add},
    {"list", "List the kernels on the pool", add_client_options, run_kernel_list},
};

constexpr Command kSecretCommands[] = {
    w::tools::secret_new_command<Options, &Options::path>(
        "Create a secret file (mode 0600) for serve --secret and cap --secret",
        "  wpool secret new /etc/wkit/pool.secret\n"),
};

constexpr Command kCommands[] = {
    {.name = "serve",
     .help = "Run the pool server until SIGINT/SIGTERM",
     .options = serve_options,
     .run = run_serve,
     .examples = "  wpool serve --db pool.db --listen 127.0.0.1:7070 &\n"
                 "  wpool serve --db pool.db --secret /etc/wkit/pool.secret --www build/www &\n"
                 "  wpool serve --listen 0.0.0.0:443 --sslkey key.pem --sslcert cert.pem   # https "
                 "and wss\n"},
    {.name = "submit",
     .help = "Add the datasets on stdin to a campaign (created if new)",
     .options = submit_options,
     .run = run_submit,
     .examples =
         "  wgen range 0 1e7 --step 1e4 | wpool submit primes --kernel build/kernels/primes.so\n"
         "  wgen seeds 1000 | wpool submit pi -k pi.so --replicas 2   # two workers must agree\n"
         "  wgen seeds 10 | wpool submit ring -k ring.so --group 4     # 4 ranks run each task "
         "together\n"},
    {.name = "status",
     .help = "Progress of the campaigns",
     .options = status_options,
     .run = run_status,
     .examples = "  wpool status\n"
                 "  wpool status primes --json | jq .campaigns[0].done\n"},
    {.name = "wait",
     .help = "Wait until a campaign is complete (exit 0 ok, 1 failures, 3 cancelled, 124 timeout)",
     .options = wait_options,
     .run = run_wait,
     .exit_code = wait_exit_code,
     .examples = "  wpool wait primes && wpool results primes | jq -c .output\n"
                 "  wpool wait nightly --timeout 2h || echo \"exit $?: 124 is a timeout\"\n"},
    {.name = "results",
     .help = "Print a campaign's results as a stream",
     .options = results_options,
     .run = run_results,
     .examples = "  wpool results primes | jq -c .output\n"
                 "  wpool results primes -f msgpack > primes.msgpack\n"},
    {"workers", "Workers known to the pool", workers_options, run_workers, kWorkersCommands},
    {"cancel", "Campaign control: cancel", campaign_options, run_control<kCancel>},
    {"pause", "Campaign control: pause", campaign_options, run_control<kPause>},
    {"resume", "Campaign control: resume", campaign_options, run_control<kResume>},
    {"delete", "Campaign control: delete", campaign_options, run_control<kDelete>},
    {"kernel", "Kernel artifacts on the pool", nullptr, nullptr, kKernelCommands},
    {.name = "cap",
     .help = "Print a capability for this pool's workers or clients",
     .options = cap_options,
     .run = run_cap,
     .examples = "  wrun ws://pool:7070 --cap \"$(wpool cap --secret /etc/wkit/pool.secret "
                 "--rights work)\"\n"
                 "  wpool cap --secret /etc/wkit/pool.secret --rights submit --campaign nightly "
                 "--expires 720h\n"},
    {"secret", "The pool's capability secret", nullptr, nullptr, kSecretCommands},
};

}  // namespace

int main(int argc, char** argv) {
  w::cli::Program prog(
      "wpool", "The wkit pool: a durable server of campaigns, and its client commands.", kExamples);
  Options o;
  return prog.run(argc, argv, Command{"wpool", "", nullptr, nullptr, kCommands}, o);
}
