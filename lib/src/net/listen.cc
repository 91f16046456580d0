// Listen addresses: --listen's text (HOST:PORT, [IPV6]:PORT, *:PORT, a
// host name) and the socket address a server binds for it.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

#include <fmt/format.h>

#include "server_lws.h"
#include "w/net.h"
#include "w/parse.h"

namespace w::net {

Result<std::pair<std::string, int>> parse_listen(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Status::Invalid(
        fmt::format("bad listen address '{}': {} (want HOST:PORT, [IPV6]:PORT or *:PORT, e.g. "
                    "127.0.0.1:7070)",
                    text, why));
  };
  std::string host = "127.0.0.1";
  std::string_view port_text = text;
  if (text.starts_with('[')) {  // [::1]:7070: the brackets keep the address's colons apart
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1) return bad("an empty or unclosed [");
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("no :PORT after ]");
    host = std::string(text.substr(1, close - 1));
    if (host.find(':') == std::string::npos) return bad("brackets are for IPv6 addresses");
    port_text = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.substr(0, colon).find(':') != std::string_view::npos)
      return bad("an IPv6 address goes in brackets, e.g. [::1]:7070");
    if (colon > 0) host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (host == "*") host = "0.0.0.0";  // every IPv4 interface
  auto port = util::parse_count(port_text);
  if (!port.ok() || *port < 0 || *port > 65535) return bad("the port is not 0 to 65535");
  return std::make_pair(host, static_cast<int>(*port));
}

std::string host_port(std::string_view host, int port) {
  return host.find(':') == std::string_view::npos ? fmt::format("{}:{}", host, port)
                                                  : fmt::format("[{}]:{}", host, port);
}

// The address a server listens on: `host` (an IPv4 or IPv6 literal, or a
// name resolved here, once: an IPv4 address when it has one), with the
// port. "" is every IPv4 interface.
Result<sockaddr_storage> listen_address(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc =
          getaddrinfo(host.empty() ? "0.0.0.0" : host.c_str(), service.c_str(), &hints, &found);
      rc != 0)
    return Status(Code::kNoHost, fmt::format("listen address '{}': {}", host, gai_strerror(rc)));
  const addrinfo* pick = found;
  for (const addrinfo* a = found; a; a = a->ai_next)
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  sockaddr_storage out{};
  std::memcpy(&out, pick->ai_addr, pick->ai_addrlen);
  freeaddrinfo(found);
  return out;
}

// The numeric text of `a`'s address ("127.0.0.1", "::1"), for lws's iface.
std::string numeric_address(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = "";
  const void* raw =
      a.ss_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in&>(a).sin_addr);
  inet_ntop(a.ss_family, raw, text, sizeof text);
  return text;
}

}  // namespace w::net
