// wsig: a PeerJS-compatible WebRTC signalling server with groups and a relay.
#include <cstdio>

#include "w/cap.h"
#include "w/cli.h"
#include "w/sig.h"

namespace {

constexpr const char* kExamples =
    "  wsig --port 9000                                  # what `peerjs --port 9000` serves\n"
    "  wsig --port 9000 --path /myapp --key lab --allow-discovery\n"
    "  wsig --port 443 --sslkey key.pem --sslcert cert.pem --cors https://example.org\n"
    "  curl http://localhost:9000/list/someexperiment    # peers 'someexperiment-...'\n"
    "  wsig --group-secret wsig.secret &  wsig cap lab --group-secret wsig.secret --rights join\n";

}  // namespace

int main(int argc, char** argv) {
  w::cli::Program prog("wsig",
                       "WebRTC signalling server: a drop-in for the PeerJS server, with peer "
                       "groups and a relay for peers without WebRTC.",
                       kExamples);
  CLI::App& app = prog.app();
  w::sig::SigOptions o;
  size_t queue_mb = o.queue_bytes >> 20, message_kb = o.max_message >> 10;
  size_t window_kb = o.relay_window >> 10, send_queue_kb = o.send_queue >> 10;
  bool no_groups = false, no_relay = false;
  app.add_option("-p,--port", o.port, "TCP port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("-H,--host", o.host, "Address to listen on")->capture_default_str();
  app.add_option("--path", o.path, "URL prefix of every endpoint")->capture_default_str();
  app.add_option("-k,--key", o.key, "Key clients must present")->capture_default_str();
  app.add_option("--sslkey", o.ssl_key, "PEM private key: serve https and wss")
      ->check(CLI::ExistingFile);
  app.add_option("--sslcert", o.ssl_cert, "PEM certificate (chain) for --sslkey")
      ->check(CLI::ExistingFile);
  app.add_option("--cors", o.cors, "Allowed origins (default: reflect any Origin)");
  app.add_option("-t,--expire-timeout", o.expire_timeout_ms,
                 "ms an undelivered message waits for its peer")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400000));
  app.add_option("--alive-timeout", o.alive_timeout_ms, "ms of silence before a peer is dropped")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400000));
  app.add_option("-c,--concurrent-limit", o.concurrent_limit, "Connected peers at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_flag("--allow-discovery", o.allow_discovery, "GET {path}{key}/peers lists every peer");
  app.add_option("--queue-limit", o.queue_per_peer, "Messages queued per absent peer")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--queue-memory", queue_mb, "MB queued for all absent peers")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-message", message_kb, "KB per message at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--send-queue", send_queue_kb,
                 "KB waiting for one peer; more is dropped, the peer stays")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--rate-limit", o.rate_limit,
                 "Messages per second per peer (1 per started KB), bursts of 4x")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e9));
  app.add_flag("--no-groups", no_groups, "No group service and no group listing");
  app.add_option("--member-timeout", o.member_timeout_ms, "ms a joined member keeps its place away")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  app.add_option("--group-timeout", o.group_timeout_ms, "ms an empty created group lives")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  app.add_option("--max-groups", o.max_groups, "Created groups at most")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000000));
  std::string secret_file;
  app.add_option("--group-secret", secret_file,
                 "File with the HMAC secret; capabilities then guard groups (created if missing)");
  app.add_flag("--no-relay", no_relay, "No relay circuits");
  app.add_option("--relay-window", window_kb, "KB in flight per circuit and direction")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--relay-circuits", o.relay_circuits, "Relay circuits per peer at most")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  app.add_option("--stats", o.stats_interval_s, "Log counters every N seconds (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  // `wsig cap GROUP`: mint a capability for the groups of a server.
  CLI::App* cap =
      app.add_subcommand("cap", "Print a capability for a group (needs --group-secret)");
  std::string cap_group, cap_rights = "join";
  int64_t cap_expires = 0;
  cap->add_option("group", cap_group, "Group name, or * for every group")->required();
  cap->add_option("--rights", cap_rights, "create, join, or both: create,join")
      ->capture_default_str();
  cap->add_option("--expires", cap_expires, "Unix time it stops working (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  return prog.run(argc, argv, [&]() -> w::Status {
    if (!secret_file.empty()) {
      auto secret = w::cap::load_or_create_secret(secret_file);
      if (!secret.ok()) return secret.status();
      o.group_secret = *secret;
    }
    if (cap->parsed()) {
      if (o.group_secret.empty()) return w::Status::Invalid("cap: give --group-secret FILE");
      auto c = w::sig::mint_group_capability(o.group_secret, cap_group, cap_rights, cap_expires);
      if (!c.ok()) return c.status();
      std::printf("%s\n", c->c_str());
      return w::Status::Ok();
    }
    o.queue_bytes = queue_mb << 20;
    o.max_message = message_kb << 10;
    o.send_queue = send_queue_kb << 10;
    o.relay_window = window_kb << 10;
    o.groups = !no_groups;
    o.relay = !no_relay;
    return w::sig::run_wsig(o);
  });
}
