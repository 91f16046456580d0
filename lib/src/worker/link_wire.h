// The wire of direct links (direct.h): framing and handshake helpers.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace w::worker::link {

constexpr size_t kNonce = 16, kMac = 32;
constexpr size_t kMaxGroupId = 64;

/// What a decoder made of the bytes at the start of a buffer.
enum class Parse {
  kMore,  ///< a prefix of a valid one: wait for more bytes
  kBad,   ///< never valid, whatever follows (`why` says what)
  kOk,    ///< one was read: `used` bytes
};

/// The dialer's first message: "WKL" | mode ('1' plain, 'T' TLS) | u8
/// length | group id | u32 dialer | u32 acceptor | nonce.
struct Hello {
  char mode = '1';
  std::string group;  ///< 1-64 of token_char()
  uint32_t dialer = 0, acceptor = 0;
  unsigned char nonce[kNonce] = {};
};
std::string encode_hello(const Hello& h);
Parse decode_hello(std::string_view in, Hello& out, size_t& used, std::string& why);

/// The acceptor's answer: mode | nonce | its MAC (checked by the caller).
struct Answer {
  char mode = '1';
  unsigned char nonce[kNonce] = {};
  char mac[kMac] = {};
};
Parse decode_answer(std::string_view in, Answer& out, size_t& used, std::string& why);

/// A frame's header: u32 body length, at most `max`.
Parse decode_frame_header(std::string_view in, size_t max, size_t& body, std::string& why);

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
