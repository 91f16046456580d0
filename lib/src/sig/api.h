// wsig's HTTP side: the PeerJS REST endpoints, group listing, CORS, and the
// /metrics and /api/status every wkit server has.
//
//   GET {path}                 {"name":"wsig",...}   the server's description
//   GET {path}{key}/id         a fresh random id, as text (any key, as in PeerJS)
//   GET {path}{key}/peers      JSON array of ids; 401 unless --allow-discovery,
//                              or ?prefix=GROUP- names a group (groups on)
//   GET {path}list/GROUP       JSON array of GROUP's connected members
//   GET /metrics, /api/status  counters (Prometheus text; JSON)
//   OPTIONS *                  CORS preflight
#pragma once

#include "hub.h"
#include "w/net.h"
#include "w/sig.h"

namespace w::sig {

/// Everything an HTTP answer may need to read.
struct ApiContext {
  const SigOptions& options;
  const Hub& hub;
  const net::ServerStats& net;
  int64_t uptime_ms;
};

net::HttpResponse answer_http(const ApiContext& ctx, const net::HttpRequest& request);

/// The WebSocket path PeerJS clients connect to: {path}peerjs.
inline std::string ws_path(const SigOptions& o) {
  return o.path + "peerjs";
}

}  // namespace w::sig
