// STUN and TURN servers for the browsers' DataChannels (`wpool serve
// --ice-server`), handed to pages as GET /ice.json in RTCPeerConnection's
// own shape: {"iceServers":[{"urls":"stun:..."},{"urls":"turn:...",
// "username":"...","credential":"..."}]}.
#pragma once

#include <string>
#include <vector>

#include "w/status.h"

namespace w::pool {

inline constexpr size_t kMaxIceServers = 16;      ///< --ice-server given at most this often
inline constexpr size_t kMaxIceUrl = 512;         ///< bytes of one URL
inline constexpr size_t kMaxIceCredential = 256;  ///< bytes of the username or credential

/// The body of /ice.json for these URLs, or why they are refused: only
/// stun:, stuns:, turn: and turns: URLs of printable ASCII without spaces;
/// turn:/turns: need `username` and `credential` (coturn's user=NAME:PASS).
Result<std::string> ice_json(const std::vector<std::string>& urls, const std::string& username,
                             const std::string& credential);

}  // namespace w::pool
