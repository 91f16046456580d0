// --link auto: the address direct links listen on (direct.h).
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "direct.h"

namespace w::worker {

Result<std::string> local_address_toward(const std::string& url) {
  // ws://HOST[:PORT]/... -> HOST, PORT
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  std::string hostport = url.substr(start, url.find_first_of("/?", start) - start);
  if (size_t at = hostport.rfind('@'); at != std::string::npos) hostport.erase(0, at + 1);
  std::string host = hostport, port = url.rfind("wss", 0) == 0 ? "443" : "80";
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    host = hostport.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < hostport.size() && hostport[close + 1] == ':')
      port = hostport.substr(close + 2);
  } else if (size_t colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_DGRAM;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Status(Code::kIo, fmt::format("direct links: {}: {}", host, gai_strerror(rc)));
  const int fd = ::socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const bool ok = fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  freeaddrinfo(res);
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  const bool named = ok && getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!named) return Status(Code::kIo, fmt::format("direct links: no route to {}", host));
  char name[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&sa), len, name, sizeof name, nullptr, 0,
                  NI_NUMERICHOST))
    return Status(Code::kIo, fmt::format("direct links: no address toward {}", host));
  return std::string(name);
}

}  // namespace w::worker
