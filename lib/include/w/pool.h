// wpool: the pool server and its client commands. See wpool(1) and the
// protocol in w-protocol(7).
#pragma once

#include <string>
#include <vector>

#include "w/cap.h"
#include "w/proto.h"
#include "w/status.h"
#include "w/stream.h"

namespace w::pool {

/// The capability service name.
inline constexpr std::string_view kService = "wpool";

/// Rights of a wpool capability (bits of cap::Capability::rights); its
/// object is a campaign name or "*".
enum Right : uint32_t {
  kWork = 1,    ///< connect as a worker (to the campaign's tasks only, if scoped)
  kSubmit = 2,  ///< create and append to campaigns; read status, results, workers
  kAdmin = 4,   ///< cancel, pause, resume, delete; upload kernels outside a submit
  kAllRights = 7,
};
cap::RightNames right_names();

/// A campaign's priority unless its submitter has the admin right.
inline constexpr int kDefaultPriority = 0;
/// `wpool wait`'s exit status when the campaign was cancelled before every
/// task finished (0 all done, 1 some failed, 2 timeout).
inline constexpr int kExitCancelled = 3;

struct ServeOptions {
  std::string db = "pool.db";
  std::string listen = "127.0.0.1:7070";
  std::string key;               ///< shared key for a LAN (every right); empty = none
  std::string secret;            ///< HMAC secret of capabilities; with no key either, open
  double heartbeat = 5;          ///< seconds between worker heartbeats
  double worker_timeout = 30;    ///< a worker silent this long is dropped
  size_t max_frame = 16u << 20;  ///< largest message accepted (64 KiB before hello)
  int max_connections = 10000;   ///< half at most without a hello yet
  double auth_timeout = 10;      ///< seconds a connection may go without a valid hello
  std::string www;               ///< directory of the browser app served over HTTP; empty = none
  std::string sig;       ///< wsig URL coupled tasks relay through, passed to workers; empty = none
  std::string ssl_key;   ///< PEM private key: serve https and wss (with ssl_cert)
  std::string ssl_cert;  ///< PEM certificate chain; both read again on SIGHUP
  /// STUN/TURN URLs pages use for DataChannels (GET /ice.json); TURN ones
  /// with ice_username and ice_credential.
  std::vector<std::string> ice_servers;
  std::string ice_username;
  std::string ice_credential;
  std::string ice_json;  ///< /ice.json's body, made by serve() from the three above
  double history_interval = 5;  ///< seconds between the dashboard's history samples
  size_t max_kernel = 8u << 20;  ///< largest kernel artifact stored, in bytes
};

/// Runs the server until SIGINT/SIGTERM.
Status serve(const ServeOptions& options);

/// What every client command needs.
struct ClientOptions {
  std::string pool = "ws://127.0.0.1:7070";  ///< ws://, wss://, http:// or https://
  std::string key;
  std::string cap;      ///< a capability string (wpool cap)
  double timeout = 10;  ///< one connection attempt, seconds
  /// Keep retrying an unreachable pool (refused, reset, HTTP 5xx) this
  /// long, with backoff; 0: forever. Permanent failures end at once.
  double retry_for = 30;
};

// Limits of a campaign's settings (the protocol's: w/proto.h).
using proto::kMaxGroup;
using proto::kMaxReplicas;

struct SubmitOptions {
  std::string campaign;
  std::string kernel;  ///< path to a .so, or a sha256 already on the pool
  /// .wasm for browser workers; default: the .wasm beside a --kernel .so, if any
  std::string kernel_wasm;
  std::string static_arg;  ///< JSON text or file
  double timeout = 60;     ///< per task, seconds
  int max_attempts = 3;
  int replicas = 1;  ///< workers that compute each task (result verification)
  int quorum = 0;    ///< agreeing results that accept one; 0 = a majority of replicas
  /// 0: results agree when equal, compared among workers of one platform;
  /// > 0: numbers agree within this relative difference, across platforms.
  double quorum_tolerance = 0;
  int priority = kDefaultPriority;  ///< above the default needs the admin right
  int group = 1;  ///< coupled campaign: members that run each task together; 1 = not coupled
  /// Copies of the last running tasks on idle slots (off: --no-speculate).
  bool speculate = true;
  std::string once_key;
  int batch = 1000;  ///< datasets per message
  int input_fd = 0;
};
Status submit(const ClientOptions& c, const SubmitOptions& s);

Status status(const ClientOptions& c, const std::string& campaign, bool json);
/// Ok when every task is done; Code::kFailed when some failed, or when the
/// campaign was cancelled before they all finished (then `*cancelled` is
/// set, if given); Code::kTimeout after `timeout` seconds (0 = wait forever).
Status wait(const ClientOptions& c, const std::string& campaign, double timeout,
            bool* cancelled = nullptr);
Status results(const ClientOptions& c, const std::string& campaign, long long since, bool follow,
               stream::Format format, int output_fd);
Status workers(const ClientOptions& c, bool json);
/// Lifts the flag of worker `id` (the admin right).
Status unflag(const ClientOptions& c, const std::string& id);
/// cancel, pause, resume or delete.
Status control(const ClientOptions& c, const std::string& action, const std::string& campaign);
Status kernel_add(const ClientOptions& c, const std::string& path, const std::string& name);
Status kernel_list(const ClientOptions& c);

}  // namespace w::pool
