// wpool: the pool server (`wpool serve`) and its client commands.
#include "w/cli.h"
#include "w/diag.h"
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
  std::string secret_file, expires = "0";
  w::net::TlsOptions tls;
  std::string campaign, timeout = "60s", heartbeat = "5s", worker_timeout = "30s",
                        wait_timeout = "0", auth_timeout = "10s", retry_for = "30s",
                        history_interval = "5s";
  std::string format = "json", path, name;
  long long since = 0;
  bool json = false, follow = false;
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

}  // namespace

int main(int argc, char** argv) {
  w::cli::Program prog(
      "wpool", "The wkit pool: a durable server of campaigns, and its client commands.", kExamples);
  CLI::App& app = prog.app();
  app.require_subcommand(1);
  Options o;
  std::function<w::Status()> action;
  bool cancelled = false;  // set by wait

  CLI::App* serve = app.add_subcommand("serve", "Run the pool server until SIGINT/SIGTERM");
  serve->add_option("--db", o.serve.db, "SQLite file holding the pool's state")
      ->capture_default_str();
  serve
      ->add_option("--listen", o.serve.listen,
                   "Address to listen on (HOST:PORT; port 0 = any free)")
      ->capture_default_str();
  serve
      ->add_option("--secret", o.secret_file,
                   "File with the HMAC secret of capabilities (created if missing)")
      ->type_name("FILE");
  serve->add_option("--key", o.serve.key, "A plain shared key with every right (for a LAN)");
  serve->add_option("--heartbeat", o.heartbeat, "Interval of worker heartbeats")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  serve->add_option("--worker-timeout", o.worker_timeout, "Drop a worker silent this long")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  serve
      ->add_option("--history-interval", o.history_interval,
                   "Interval of the dashboard's history samples (720 kept: 1 h at 5 s)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) {
            auto s = w::cli::parse_seconds(text);
            return s.ok() && *s >= 0.1 && *s <= 3600 ? std::string()
                                                     : "'" + text + "' is not 0.1s to 1h";
          },
          "DURATION"));
  serve->add_option("--max-frame", o.serve.max_frame, "Largest message accepted, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  serve
      ->add_option("--max-kernel", o.serve.max_kernel,
                   "Largest kernel artifact stored, in bytes (larger uploads are refused)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  serve
      ->add_option("--max-connections", o.serve.max_connections,
                   "Most connections at once (half at most before their hello)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  serve
      ->add_option("--auth-timeout", o.auth_timeout,
                   "Close a connection without a valid hello this long")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  serve
      ->add_option("--www", o.serve.www,
                   "Directory of the browser app to serve (default: build/www beside bin/, or "
                   "the installed share/wkit/www)")
      ->check(CLI::ExistingDirectory);
  serve
      ->add_option("--sig", o.serve.sig,
                   "wsig server coupled tasks relay through, passed to workers (ws://HOST:PORT/)")
      ->type_name("URL");
  serve->add_option("--sslkey", o.serve.ssl_key, "PEM private key: serve https and wss only")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  serve
      ->add_option("--sslcert", o.serve.ssl_cert,
                   "PEM certificate chain for --sslkey (both read again on SIGHUP)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  serve
      ->add_option("--ice-server", o.serve.ice_servers,
                   "STUN or TURN server for the pages' DataChannels (stun:HOST:PORT, "
                   "turn:HOST:PORT?transport=udp); repeatable, at most 16")
      ->type_name("URL")
      ->delimiter(',');
  serve->add_option("--ice-username", o.serve.ice_username, "User name on the turn: servers")
      ->type_name("NAME");
  serve
      ->add_option("--ice-credential", o.serve.ice_credential,
                   "Password on the turn: servers (pages see it: give TURN-only users)")
      ->type_name("TEXT");
  serve->callback([&] {
    action = [&] {
      o.serve.heartbeat = *w::cli::parse_seconds(o.heartbeat);
      o.serve.worker_timeout = *w::cli::parse_seconds(o.worker_timeout);
      o.serve.history_interval = *w::cli::parse_seconds(o.history_interval);
      o.serve.auth_timeout = *w::cli::parse_seconds(o.auth_timeout);
      if (!o.secret_file.empty()) {
        auto secret = w::cap::load_or_create_secret(o.secret_file);
        if (!secret.ok()) return secret.status();
        o.serve.secret = *secret;
      }
      return w::pool::serve(o.serve);
    };
  });

  CLI::App* submit =
      app.add_subcommand("submit", "Add the datasets on stdin to a campaign (created if new)");
  submit->add_option("campaign", o.submit.campaign, "Campaign name")->required();
  submit->add_option("-k,--kernel", o.submit.kernel,
                     "Kernel .so (uploaded) or the sha256 of one on the pool");
  submit->add_option("--kernel-wasm", o.submit.kernel_wasm,
                     "Kernel .wasm for browser workers (default: the .wasm beside the .so)");
  submit->add_option("--static", o.submit.static_arg, "Static dataset: a JSON text or a file");
  submit->add_option("--timeout", o.timeout, "Wall-clock limit per task")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  submit->add_option("--max-attempts", o.submit.max_attempts, "Attempts before a task is failed")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  submit
      ->add_option("--replicas", o.submit.replicas,
                   "Different workers that compute each task, results compared")
      ->capture_default_str()
      ->check(CLI::Range(1, w::pool::kMaxReplicas));
  submit
      ->add_option("--quorum", o.submit.quorum,
                   "Agreeing results that accept a task's output (default: a majority)")
      ->check(CLI::Range(1, w::pool::kMaxReplicas));
  submit
      ->add_option("--quorum-tolerance", o.submit.quorum_tolerance,
                   "Replicas agree when their numbers differ by at most this relative amount "
                   "(compared across platforms); 0: equal, and only among one platform")
      ->type_name("REL")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  submit
      ->add_option("--priority", o.submit.priority,
                   "Higher runs first; above 0 needs the 'admin' right")
      ->capture_default_str();
  submit
      ->add_option("--group", o.submit.group,
                   "Coupled campaign: K members (ranks) run each task together, on K slots")
      ->type_name("K")
      ->capture_default_str()
      ->check(CLI::Range(1, w::pool::kMaxGroup));
  submit->add_option("--once-key", o.submit.once_key,
                     "Resumable: skip the records already stored under this key, add the rest");
  submit->add_option("--batch", o.submit.batch, "Datasets per message")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  add_client_options(*submit, o);
  submit->callback([&] {
    action = [&] {
      o.submit.timeout = *w::cli::parse_seconds(o.timeout);
      return w::pool::submit(o.client, o.submit);
    };
  });

  CLI::App* status = app.add_subcommand("status", "Progress of the campaigns");
  status->add_option("campaign", o.campaign, "Only this campaign");
  status->add_flag("--json", o.json, "Print JSON");
  add_client_options(*status, o);
  status->callback([&] { action = [&] { return w::pool::status(o.client, o.campaign, o.json); }; });

  CLI::App* wait = app.add_subcommand(
      "wait", "Wait until a campaign is complete (exit 0 ok, 1 failures, 2 timeout, 3 cancelled)");
  wait->add_option("campaign", o.campaign, "Campaign name")->required();
  wait->add_option("--timeout", o.wait_timeout, "Give up after this long (0 = never)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  add_client_options(*wait, o);
  wait->callback([&] {
    action = [&] {
      return w::pool::wait(o.client, o.campaign, *w::cli::parse_seconds(o.wait_timeout),
                           &cancelled);
    };
  });

  CLI::App* results = app.add_subcommand("results", "Print a campaign's results as a stream");
  results->add_option("campaign", o.campaign, "Campaign name")->required();
  results->add_option("--since", o.since, "Skip the first N results")
      ->check(CLI::NonNegativeNumber);
  results->add_flag("--follow", o.follow, "Keep printing results until the campaign is complete");
  results->add_option("-f,--format", o.format, "Output format: json or msgpack")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "jsonl", "msgpack"}));
  add_client_options(*results, o);
  results->callback([&] {
    action = [&] {
      return w::pool::results(o.client, o.campaign, o.since, o.follow,
                              *w::stream::parse_format(o.format), 1);
    };
  });

  CLI::App* workers = app.add_subcommand("workers", "Workers known to the pool");
  workers->add_flag("--json", o.json, "Print JSON");
  add_client_options(*workers, o);
  CLI::App* unflag = workers->add_subcommand(
      "unflag", "Lift a worker's flag (it disagreed with a quorum): it gets tasks again");
  unflag->add_option("worker", o.name, "Worker id, as 'wpool workers' shows it")->required();
  add_client_options(*unflag, o);
  unflag->callback([&] { action = [&] { return w::pool::unflag(o.client, o.name); }; });
  workers->callback([&] {
    if (!unflag->parsed()) action = [&] { return w::pool::workers(o.client, o.json); };
  });

  for (const char* verb : {"cancel", "pause", "resume", "delete"}) {
    CLI::App* sub = app.add_subcommand(verb, std::string("Campaign control: ") + verb);
    sub->add_option("campaign", o.campaign, "Campaign name")->required();
    add_client_options(*sub, o);
    sub->callback(
        [&, verb] { action = [&, verb] { return w::pool::control(o.client, verb, o.campaign); }; });
  }

  CLI::App* kernel = app.add_subcommand("kernel", "Kernel artifacts on the pool");
  kernel->require_subcommand(1);
  CLI::App* kadd =
      kernel->add_subcommand("add", "Upload a kernel (.so or .wasm); prints its sha256");
  kadd->add_option("path", o.path, "Kernel file")->required()->check(CLI::ExistingFile);
  kadd->add_option("--name", o.name, "Name to show (default: the file name)");
  add_client_options(*kadd, o);
  kadd->callback([&] { action = [&] { return w::pool::kernel_add(o.client, o.path, o.name); }; });
  CLI::App* klist = kernel->add_subcommand("list", "List the kernels on the pool");
  add_client_options(*klist, o);
  klist->callback([&] { action = [&] { return w::pool::kernel_list(o.client); }; });

  CLI::App* cap =
      app.add_subcommand("cap", "Print a capability for this pool's workers or clients");
  cap->add_option("--secret", o.mint.secret_file,
                  "Mint with the pool's secret file (created if missing)")
      ->type_name("FILE");
  cap->add_option("--key", o.mint.key, "Mint with the pool's shared key as the secret")
      ->type_name("KEY");
  cap->add_option("--rights", o.mint.rights, "Rights: work, submit, admin, all (comma-separated)")
      ->type_name("RIGHTS")
      ->required();
  cap->add_option("--campaign", o.mint.object, "Campaign it is for, or * for all")
      ->type_name("NAME")
      ->capture_default_str();
  cap->add_option("--expires", o.expires, "Valid for this long (30m, 24h, 720h; 0 = forever)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  cap->callback([&] {
    action = [&]() -> w::Status {
      o.mint.expires_in = *w::cli::parse_seconds(o.expires);
      auto text = w::cap::mint_with(w::pool::kService, o.mint, w::pool::right_names(), "campaign");
      if (!text.ok()) return text.status();
      return w::stream::write_all(1, *text + "\n");
    };
  });

  return prog.run(argc, argv, [&]() -> w::Status {
    w::net::set_default_tls(o.tls);
    o.client.retry_for = *w::cli::parse_seconds(o.retry_for);
    w::Status s = action();
    // `wpool wait` promises 2 for a timeout, 3 for a cancelled campaign.
    if ((s.code() == w::Code::kTimeout || cancelled) && wait->parsed()) {
      w::diag::error("{}", s.message());
      std::exit(cancelled ? w::pool::kExitCancelled : 2);
    }
    return s;
  });
}
