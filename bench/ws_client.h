// ws_client.h: the bare WebSocket client of the bench load generators
// (pool_idle, wsig_load): the upgrade request, client frames masked with a
// zero key (allowed by RFC 6455, and free) and the server's unmasked frames.
// No TLS, no fragmentation, no libwebsockets: the tools should cost the
// machine as little as possible next to the server they measure.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
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

// The sockets under the frames: every load tool keeps thousands of
// non-blocking connections on one epoll set.

// Starts a non-blocking TCP connection to `addr` (TCP_NODELAY: the frames
// are tiny) and adds it to epoll `ep` as `events` with `tag` as its data.
// The descriptor, or -1 with errno set: EMFILE/ENFILE mean the tool's
// descriptor limit (ulimit -n), anything else a refused connection.
inline int open_connection(int ep, const sockaddr_in& addr, uint32_t events, uint64_t tag) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  if ((::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0 &&
       errno != EINPROGRESS) ||
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Sets the epoll events `fd` waits for (EPOLLIN alone once the upgrade
// request is out: the frames are small enough that writes never block).
inline void watch(int ep, int fd, uint32_t events, uint64_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

// Writes what of `out` the socket takes, erasing it; false when the
// connection failed (EAGAIN is not a failure: the rest waits in `out`).
inline bool flush(int fd, std::string& out) {
  while (!out.empty()) {
    const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN;
    out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

// Appends everything the socket has to `in`; false when the peer closed or
// the connection failed.
inline bool read_available(int fd, std::string& in) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
    } else {
      return n < 0 && errno == EAGAIN;
    }
  }
}

}  // namespace ws_client
