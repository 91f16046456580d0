// /ice.json (ice.h).
#include "ice.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace w::pool {
namespace {

// Printable ASCII without spaces or quotes: what a STUN/TURN URL or a
// coturn user name needs, and nothing that could surprise a page.
bool plain(const std::string& s) {
  for (const unsigned char c : s)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  return true;
}

bool is_turn(const std::string& url) {
  return url.starts_with("turn:") || url.starts_with("turns:");
}

}  // namespace

Result<std::string> ice_json(const std::vector<std::string>& urls, const std::string& username,
                             const std::string& credential) {
  if (urls.size() > kMaxIceServers)
    return Status::Invalid(
        fmt::format("--ice-server given {} times: at most {}", urls.size(), kMaxIceServers));
  if (username.size() > kMaxIceCredential || credential.size() > kMaxIceCredential ||
      !plain(username) || !plain(credential))
    return Status::Invalid(
        fmt::format("--ice-username and --ice-credential: printable ASCII without spaces, at "
                    "most {} bytes",
                    kMaxIceCredential));
  nlohmann::json servers = nlohmann::json::array();
  bool any_turn = false;
  for (const std::string& url : urls) {
    const bool known = url.starts_with("stun:") || url.starts_with("stuns:") || is_turn(url);
    if (!known || url.size() > kMaxIceUrl || !plain(url) || url.find(':') + 1 == url.size())
      return Status::Invalid(fmt::format(
          "--ice-server '{}': not a stun:, stuns:, turn: or turns: URL of at most {} bytes", url,
          kMaxIceUrl));
    nlohmann::json s = {{"urls", url}};
    if (is_turn(url)) {
      any_turn = true;
      s["username"] = username;
      s["credential"] = credential;
    }
    servers.push_back(std::move(s));
  }
  if (any_turn && (username.empty() || credential.empty()))
    return Status::Invalid("a turn: --ice-server needs --ice-username and --ice-credential");
  if (!any_turn && !(username.empty() && credential.empty()))
    return Status::Invalid("--ice-username and --ice-credential are for a turn: --ice-server");
  return nlohmann::json{{"iceServers", servers}}.dump();
}

}  // namespace w::pool
