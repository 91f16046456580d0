#include "link_wire.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fmt/format.h>

namespace w::worker::link {

void put_u32(std::string& out, uint32_t n) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
}
uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 |
         static_cast<uint32_t>(u[2]) << 16 | static_cast<uint32_t>(u[3]) << 24;
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string handshake_mac(const std::string& secret, std::string_view role,
                          const std::string& group, int dialer, int acceptor,
                          const unsigned char* nonce_d, const unsigned char* nonce_a) {
  std::string msg(role);
  msg += group;
  put_u32(msg, static_cast<uint32_t>(dialer));
  put_u32(msg, static_cast<uint32_t>(acceptor));
  msg.append(reinterpret_cast<const char*>(nonce_d), kNonce);
  msg.append(reinterpret_cast<const char*>(nonce_a), kNonce);
  unsigned char mac[kMac];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), kMac);
}

bool same_mac(const std::string& a, const char* b) {
  return a.size() == kMac && CRYPTO_memcmp(a.data(), b, kMac) == 0;
}

void set_socket_options(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string numeric_address(const sockaddr* sa, socklen_t len) {
  char host[NI_MAXHOST], port[NI_MAXSERV];
  if (getnameinfo(sa, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV))
    return {};
  return sa->sa_family == AF_INET6 ? fmt::format("[{}]:{}", host, port)
                                   : fmt::format("{}:{}", host, port);
}

bool split_address(const std::string& address, std::string& host, std::string& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  }
  return true;
}

}  // namespace w::worker::link
