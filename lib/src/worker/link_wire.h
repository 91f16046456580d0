// The wire of direct links (direct.h): framing and handshake helpers.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace w::worker::link {

constexpr size_t kNonce = 16, kMac = 32;

void put_u32(std::string& out, uint32_t n);
uint32_t get_u32(const char* p);
/// [A-Za-z0-9._-]: what a group id may hold.
bool token_char(char c);
/// HMAC-SHA256(secret, role | group | u32 dialer | u32 acceptor | nonces):
/// role "A" or "D" and the link's mode (the acceptor's and the dialer's
/// proofs), "K" (the TLS key).
std::string handshake_mac(const std::string& secret, std::string_view role,
                          const std::string& group, int dialer, int acceptor,
                          const unsigned char* nonce_d, const unsigned char* nonce_a);
/// In constant time.
bool same_mac(const std::string& a, const char* b);
void set_socket_options(int fd);
/// HOST:PORT, IPv6 in brackets.
std::string numeric_address(const sockaddr* sa, socklen_t len);
/// "HOST:PORT" / "[V6]:PORT" -> host, port.
bool split_address(const std::string& address, std::string& host, std::string& port);

}  // namespace w::worker::link
