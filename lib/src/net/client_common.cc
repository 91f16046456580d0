// What every client transport shares (native and browser builds): URLs,
// the process-wide TLS defaults, and how a failure to connect is judged.
#include <charconv>

#include <fmt/format.h>

#include "w/diag.h"
#include "w/net_client.h"

namespace w::net {
namespace {

TlsOptions& tls_defaults() {
  static TlsOptions tls;
  return tls;
}

}  // namespace

void set_default_tls(const TlsOptions& tls) {
  tls_defaults() = tls;
  if (tls.insecure)
    diag::warning(
        "--insecure: server certificates are not checked; anyone on the way can read and change "
        "what is sent");
}

const TlsOptions& default_tls() {
  return tls_defaults();
}

std::string WsUrl::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", tls ? "wss" : "ws", v6 ? "[" : "", host, v6 ? "]" : "",
                     port);
}

Result<WsUrl> parse_ws_url(std::string_view url) {
  WsUrl u;
  std::string_view rest = url;
  // http(s):// is accepted as the same server's ws(s)://: what a browser's
  // address bar shows is what a user will paste.
  if (rest.starts_with("ws://")) {
    rest.remove_prefix(5);
  } else if (rest.starts_with("wss://")) {
    rest.remove_prefix(6);
    u.tls = true;
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    u.tls = true;
  } else {
    return Status::Invalid(fmt::format(
        "'{}' is not a ws:// or wss:// URL (e.g. ws://127.0.0.1:7070, wss://pool.example.org)",
        url));
  }
  u.port = u.tls ? 443 : 80;
  const size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    u.path = std::string(rest.substr(slash));
    if (u.path[0] == '?') u.path = "/" + u.path;
  }
  if (authority.find('@') != std::string_view::npos)
    return Status::Invalid(fmt::format("'{}': user names in URLs are not supported", url));
  std::string_view port_text;
  if (authority.starts_with("[")) {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return Status::Invalid(fmt::format("'{}': unclosed '[' in the host", url));
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':')
      return Status::Invalid(fmt::format("'{}': junk after the host", url));
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (colon != std::string_view::npos && port_text.empty())
      return Status::Invalid(fmt::format("'{}': bad port", url));
  }
  if (!port_text.empty()) {
    int port = 0;
    const char* end = port_text.data() + port_text.size();
    auto [at, err] = std::from_chars(port_text.data(), end, port);
    if (err != std::errc() || at != end || port <= 0 || port > 65535)
      return Status::Invalid(fmt::format("'{}': bad port", url));
    u.port = port;
  }
  if (u.host.empty()) return Status::Invalid(fmt::format("'{}': no host", url));
  for (char c : u.host)
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\')
      return Status::Invalid(fmt::format("'{}': bad character in the host", url));
  return u;
}

bool is_transient(const Status& status) {
  return status.code() == Code::kIo || status.code() == Code::kTimeout;
}

Status http_refusal(unsigned status, std::string_view url) {
  if (status == 401 || status == 403)
    return Status(Code::kDenied, fmt::format("connect {}: denied (HTTP {})", url, status));
  if (status == 426)
    return Status(
        Code::kUnavailable,
        fmt::format("connect {}: the server speaks TLS only (HTTP 426): use wss://", url));
  if (status == 503)
    return Status::Io(fmt::format(
        "connect {}: the server is full (HTTP 503): every connection it allows is in use (or a "
        "proxy found no server behind it)",
        url));
  if (status >= 500 || status == 408 || status == 429)
    return Status::Io(fmt::format("connect {}: the server failed (HTTP {})", url, status));
  if (status >= 300 && status < 400)
    return Status(Code::kUnavailable,
                  fmt::format("connect {}: redirected (HTTP {}); is the scheme right (https:// "
                              "or wss:// for a server on TLS)?",
                              url, status));
  if (status >= 400)
    return Status(Code::kUnavailable,
                  fmt::format("connect {}: nothing to connect to there (HTTP {}); is the path "
                              "right?",
                              url, status));
  return Status(
      Code::kUnavailable,
      fmt::format("connect {}: not a WebSocket server (it answered HTTP {})", url, status));
}

}  // namespace w::net
