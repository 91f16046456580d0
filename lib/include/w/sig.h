// wsig: a WebRTC signalling server that PeerJS clients use unchanged, with
// peer groups and a relay for peers that cannot speak WebRTC.
//
// Read this header first; the protocol is sketched in lib/src/sig/hub.h and
// documented for users in wsig(1).
//
//   w::sig::SigOptions o;
//   o.port = 9000;
//   return w::sig::run_wsig(o);   // serves until SIGINT/SIGTERM
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "w/status.h"

namespace w::sig {

/// Everything wsig(1) can be told. Defaults are the stock PeerJS server's,
/// except where a bound was missing there (queues, message size).
struct SigOptions {
  // Where and how to listen.
  std::string host = "0.0.0.0";   ///< interface address; all by default, like PeerJS
  int port = 9000;                ///< 0: any free port (printed on stderr)
  std::string path = "/";         ///< prefix of every URL; normalised to "/.../"
  std::string key = "peerjs";     ///< the key clients must present
  std::string ssl_key;            ///< PEM private key: serve https/wss (with ssl_cert)
  std::string ssl_cert;           ///< PEM certificate chain
  std::vector<std::string> cors;  ///< allowed origins; empty: reflect any Origin

  // The PeerJS rules.
  int64_t expire_timeout_ms = 5000;  ///< undelivered messages wait this long
  int64_t alive_timeout_ms = 60000;  ///< a peer silent this long is dropped
  size_t concurrent_limit = 5000;    ///< connected peers at most
  bool allow_discovery = false;      ///< GET {path}{key}/peers lists every peer

  // Bounds the stock server lacks.
  size_t queue_per_peer = 256;      ///< messages waiting for one absent id
  size_t queue_bytes = 64u << 20;   ///< bytes waiting for all absent ids
  size_t max_message = 256u << 10;  ///< bigger messages close the connection
  /// Bytes waiting to be written to one connected peer; what does not fit
  /// is dropped (a relay circuit that overflows it is closed): a peer that
  /// stops reading costs the server this much, and is not disconnected.
  size_t send_queue = 1u << 20;
  /// Tokens per second each peer may spend on JSON messages, a token per
  /// started KiB of a message (relay data is bounded by its window
  /// instead). Bursts of 4x this pass; past them messages are dropped, and
  /// a peer that runs 4x into debt is disconnected ("Too many messages").
  double rate_limit = 500;

  // Groups.
  bool groups = true;                 ///< group service and prefix listing
  int64_t member_timeout_ms = 60000;  ///< a joined member keeps its place while away
  int64_t group_timeout_ms = 300000;  ///< an empty created group lives this long
  size_t max_groups = 10000;          ///< created groups at most
  std::string group_secret;           ///< if set, capabilities (w/cap.h) guard groups

  // Relay.
  bool relay = true;                 ///< RELAY-* circuits between peers
  size_t relay_window = 256u << 10;  ///< unacknowledged bytes per direction
  size_t relay_circuits = 64;        ///< circuits per peer at most
  /// Connections on the relay subprotocol (net::kRelayProtocol) at once;
  /// each reads through a 64 KiB buffer, so this bounds their memory
  /// (256: 16 MiB). Past it a newcomer is answered 503 before the upgrade.
  size_t relay_links = 256;

  int stats_interval_s = 0;  ///< log a stats line this often (0: never)
};

/// Serves until SIGINT or SIGTERM; errors if it cannot listen (e.g. "listen
/// 0.0.0.0:9000: Address already in use") or an option is invalid.
Status run_wsig(const SigOptions& options);

/// Checks options and fills derived values (path with slashes); what
/// run_wsig does first.
Result<SigOptions> normalise(SigOptions options);

/// The rights of a group capability: a w/cap.h capability for service
/// "wsig" whose object is a group name or "*".
enum GroupRight : uint32_t {
  kRightCreate = 1,  ///< GROUP-CREATE (and GROUP-DELETE by others than the owner)
  kRightJoin = 2,    ///< GROUP-JOIN, and connecting as "GROUP-..." to a created group
};

/// Mints a group capability: `rights` as "create,join", "all" or a hex mask;
/// `expires` in unix seconds (0: never).
Result<std::string> mint_group_capability(std::string_view secret, std::string_view group,
                                          std::string_view rights, int64_t expires = 0);

}  // namespace w::sig
