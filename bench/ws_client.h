// ws_client.h: the bare WebSocket client of the bench load generators
// (pool_idle, wsig_load): the upgrade request, client frames masked with a
// zero key (allowed by RFC 6455, and free) and the server's unmasked frames.
// No TLS, no fragmentation, no libwebsockets: the tools should cost the
// machine as little as possible next to the server they measure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ws_client {

// The upgrade request for `target` (path and query) on `host` (the Host
// header's value), with RFC 6455's sample key.
inline std::string upgrade_request(std::string_view target, std::string_view host) {
  std::string r = "GET ";
  r += target;
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       "Sec-WebSocket-Version: 13\r\n\r\n";
  return r;
}

enum class Upgrade { kPending, kDone, kRefused };

// The server's answer to the upgrade request at the front of `in`: kPending
// until its header is whole; kDone for a 101, taken off `in`; kRefused for
// anything else, left in `in` for the error message.
inline Upgrade take_upgrade(std::string& in) {
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return Upgrade::kPending;
  if (in.compare(0, 12, "HTTP/1.1 101") != 0) return Upgrade::kRefused;
  in.erase(0, end + 4);
  return Upgrade::kDone;
}

// Appends a final client frame of `first` (0x81 text, 0x82 binary) with a
// zero mask key. Payloads stay below 64 KiB.
inline void append_frame(std::string& out, char first, std::string_view payload) {
  out += first;
  const size_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(0x80 | n);
  } else {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 255);
  }
  out.append(4, '\0');
  out += payload;
}

// Takes whole server frames (unmasked) off the front of `in`, calling
// fn(opcode, payload) for each; a partial frame stays in `in`.
template <class Fn>
void take_frames(std::string& in, Fn&& fn) {
  size_t at = 0;
  while (in.size() - at >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data() + at);
    uint64_t n = p[1] & 0x7f;
    size_t head = 2;
    if (n == 126) {
      if (in.size() - at < 4) break;
      n = (uint64_t{p[2]} << 8) | p[3];
      head = 4;
    } else if (n == 127) {
      if (in.size() - at < 10) break;
      n = 0;
      for (int i = 0; i < 8; ++i) n = (n << 8) | p[2 + i];
      head = 10;
    }
    if (in.size() - at < head + n) break;
    fn(p[0] & 0x0f, std::string_view(in.data() + at + head, n));
    at += head + n;
  }
  in.erase(0, at);
}

}  // namespace ws_client
