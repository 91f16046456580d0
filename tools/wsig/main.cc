// wsig: a PeerJS-compatible WebRTC signalling server with groups and a relay.
#include <fmt/format.h>

#include "secret_new.h"
#include "w/cap.h"
#include "w/cli.h"
#include "w/sig.h"
#include "w/stream.h"

namespace {

constexpr const char* kExamples =
    "  wsig --port 9000                                  # what `peerjs --port 9000` serves\n"
    "  wsig --port 9000 --path /myapp --key lab --allow-discovery\n"
    "  wsig --port 443 --sslkey key.pem --sslcert cert.pem --cors https://example.org\n"
    "  curl http://localhost:9000/list/someexperiment    # peers 'someexperiment-...'\n"
    "  wsig secret new wsig.secret; wsig --group-secret wsig.secret &\n"
    "  wsig cap lab --group-secret wsig.secret --rights join\n";

// What the flags set: the server's options, and the sizes the flags give
// in KB/MB, converted in run_server.
struct Options {
  w::sig::SigOptions sig;
  size_t queue_mb = sig.queue_bytes >> 20, message_kb = sig.max_message >> 10;
  size_t window_kb = sig.relay_window >> 10, send_queue_kb = sig.send_queue >> 10;
  bool no_groups = false, no_relay = false;
  std::string secret_file;
  std::string cap_group, cap_rights = "join";
  int64_t cap_expires = 0;
};

void server_options(CLI::App& app, Options& o) {
  app.add_option("-p,--port", o.sig.port, "TCP port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("-H,--host", o.sig.host, "Address to listen on")->capture_default_str();
  app.add_option("--path", o.sig.path, "URL prefix of every endpoint")->capture_default_str();
  app.add_option("-k,--key", o.sig.key, "Key clients must present")->capture_default_str();
  app.add_option("--sslkey", o.sig.ssl_key, "PEM private key: serve https and wss")
      ->check(CLI::ExistingFile);
  app.add_option("--sslcert", o.sig.ssl_cert, "PEM certificate (chain) for --sslkey")
      ->check(CLI::ExistingFile);
  app.add_option("--cors", o.sig.cors, "Allowed origins (default: reflect any Origin)");
  app.add_option("-t,--expire-timeout", o.sig.expire_timeout_ms,
                 "ms an undelivered message waits for its peer")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400000));
  app.add_option("--alive-timeout", o.sig.alive_timeout_ms,
                 "ms of silence before a peer is dropped")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400000));
  app.add_option("-c,--concurrent-limit", o.sig.concurrent_limit, "Connected peers at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_flag("--allow-discovery", o.sig.allow_discovery,
               "GET {path}{key}/peers lists every peer");
  app.add_option("--queue-limit", o.sig.queue_per_peer, "Messages queued per absent peer")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--queue-memory", o.queue_mb, "MB queued for all absent peers")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-message", o.message_kb, "KB per message at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--send-queue", o.send_queue_kb,
                 "KB waiting for one peer; more is dropped, the peer stays")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--rate-limit", o.sig.rate_limit,
                 "Messages per second per peer (1 per started KB), bursts of 4x")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e9));
  app.add_flag("--no-groups", o.no_groups, "No group service and no group listing");
  app.add_option("--member-timeout", o.sig.member_timeout_ms,
                 "ms a joined member keeps its place away")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  app.add_option("--group-timeout", o.sig.group_timeout_ms, "ms an empty created group lives")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  app.add_option("--max-groups", o.sig.max_groups, "Created groups at most")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000000));
  app.add_option("--group-secret", o.secret_file,
                 "File with the HMAC secret; capabilities then guard groups (the server creates a "
                 "missing one, cap never does)");
  app.add_flag("--no-relay", o.no_relay, "No relay circuits");
  app.add_option("--relay-window", o.window_kb, "KB in flight per circuit and direction")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--relay-circuits", o.sig.relay_circuits, "Relay circuits per peer at most")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  app.add_option("--relay-links", o.sig.relay_links,
                 "Connections on the relay subprotocol at once (64 KiB buffer each)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  app.add_option("--stats", o.sig.stats_interval_s, "Log counters every N seconds (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
}

// --group-secret FILE: the secret of group capabilities. The server
// creates a missing one; `wsig cap` never does (a mistyped path would mint
// capabilities the server rejects).
w::Status load_secret(Options& o, bool create) {
  if (o.secret_file.empty()) return w::Status::Ok();
  auto secret = create ? w::cap::load_or_create_secret(o.secret_file)
                       : w::cap::read_existing_secret(
                             o.secret_file, fmt::format("'wsig secret new {}' (or start 'wsig "
                                                        "--group-secret {}')",
                                                        o.secret_file, o.secret_file));
  if (!secret.ok()) return secret.status();
  o.sig.group_secret = *secret;
  return w::Status::Ok();
}

w::Status run_server(Options& o) {
  // A circuit's window must fit in its receiver's queue with room to spare,
  // or a fast sender loses its circuit ("Receiver's queue is full") by
  // doing what the window allows.
  if (!o.no_relay && o.window_kb * 2 > o.send_queue_kb)
    return w::Status(
        w::Code::kUsage,
        fmt::format("--relay-window {} KB is more than half of --send-queue {} KB: a relay "
                    "circuit's window "
                    "must fit in its receiver's queue (raise --send-queue to {} or more)",
                    o.window_kb, o.send_queue_kb, o.window_kb * 2));
  W_RETURN_IF_ERROR(load_secret(o, true));
  o.sig.queue_bytes = o.queue_mb << 20;
  o.sig.max_message = o.message_kb << 10;
  o.sig.send_queue = o.send_queue_kb << 10;
  o.sig.relay_window = o.window_kb << 10;
  o.sig.groups = !o.no_groups;
  o.sig.relay = !o.no_relay;
  return w::sig::run_wsig(o.sig);
}

// `wsig cap GROUP`: mint a capability for the groups of a server.
void cap_options(CLI::App& cap, Options& o) {
  cap.add_option("group", o.cap_group, "Group name, or * for every group")->required();
  cap.add_option("--rights", o.cap_rights, "create, join, or both: create,join")
      ->capture_default_str();
  cap.add_option("--expires", o.cap_expires, "Unix time it stops working (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

w::Status run_cap(Options& o) {
  W_RETURN_IF_ERROR(load_secret(o, false));
  if (o.sig.group_secret.empty()) return w::Status::Invalid("cap: give --group-secret FILE");
  auto c =
      w::sig::mint_group_capability(o.sig.group_secret, o.cap_group, o.cap_rights, o.cap_expires);
  if (!c.ok()) return c.status();
  return w::stream::write_all(1, *c + "\n");
}

using Command = w::cli::Command<Options>;

constexpr Command kSecretCommands[] = {
    w::tools::secret_new_command<Options, &Options::secret_file>(
        "Create a group secret file for --group-secret (mode 0600)",
        "  wsig secret new /etc/wkit/wsig.secret\n"),
};

constexpr Command kCommands[] = {
    {"cap", "Print a capability for a group (needs --group-secret)", cap_options, run_cap},
    {"secret", "The group capabilities' secret", nullptr, nullptr, kSecretCommands},
};

}  // namespace

int main(int argc, char** argv) {
  w::cli::Program prog("wsig",
                       "WebRTC signalling server: a drop-in for the PeerJS server, with peer "
                       "groups and a relay for peers without WebRTC.",
                       kExamples);
  Options o;
  return prog.run(argc, argv, Command{"wsig", "", server_options, run_server, kCommands}, o);
}
