#include "link_wire.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

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

namespace {
constexpr char kMagic[3] = {'W', 'K', 'L'};
constexpr size_t kHelloFixed = 3 + 1 + 1 + 8 + kNonce;  // + the group id
bool known_mode(char m) {
  return m == '1' || m == 'T';
}
}  // namespace

std::string encode_hello(const Hello& h) {
  std::string out(kMagic, 3);
  out += h.mode;
  out += static_cast<char>(h.group.size());
  out += h.group;
  put_u32(out, h.dialer);
  put_u32(out, h.acceptor);
  out.append(reinterpret_cast<const char*>(h.nonce), kNonce);
  return out;
}

Parse decode_hello(std::string_view in, Hello& out, size_t& used, std::string& why) {
  // Checked as far as the bytes go, so a stranger's junk is refused at its
  // first wrong byte, not after it has sent a whole hello's worth.
  for (size_t i = 0; i < 3 && i < in.size(); ++i)
    if (in[i] != kMagic[i]) return why = "not a wkit link", Parse::kBad;
  if (in.size() > 3 && !known_mode(in[3])) return why = "not a wkit link", Parse::kBad;
  if (in.size() < 5) return Parse::kMore;
  const size_t glen = static_cast<uint8_t>(in[4]);
  if (glen == 0 || glen > kMaxGroupId) return why = "bad group id", Parse::kBad;
  for (size_t i = 5; i < 5 + glen && i < in.size(); ++i)
    if (!token_char(in[i])) return why = "bad group id", Parse::kBad;
  if (in.size() < kHelloFixed + glen) return Parse::kMore;
  out.mode = in[3];
  out.group.assign(in.substr(5, glen));
  out.dialer = get_u32(in.data() + 5 + glen);
  out.acceptor = get_u32(in.data() + 9 + glen);
  std::memcpy(out.nonce, in.data() + 13 + glen, kNonce);
  used = kHelloFixed + glen;
  return Parse::kOk;
}

Parse decode_answer(std::string_view in, Answer& out, size_t& used, std::string& why) {
  if (!in.empty() && !known_mode(in[0])) return why = "not a wkit link", Parse::kBad;
  if (in.size() < 1 + kNonce + kMac) return Parse::kMore;
  out.mode = in[0];
  std::memcpy(out.nonce, in.data() + 1, kNonce);
  std::memcpy(out.mac, in.data() + 1 + kNonce, kMac);
  used = 1 + kNonce + kMac;
  return Parse::kOk;
}

Parse decode_frame_header(std::string_view in, size_t max, size_t& body, std::string& why) {
  if (in.size() < 4) return Parse::kMore;
  body = get_u32(in.data());
  if (body > max) return why = fmt::format("a message of {} bytes", body), Parse::kBad;
  return Parse::kOk;
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
