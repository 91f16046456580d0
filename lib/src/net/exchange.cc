// net::exchange(): one request and its answer over a blocking TCP or TLS
// socket (wsql's POST /rpc). Errors are told apart as for Client: before
// the request is written they are transient (kIo) or permanent (kNoHost,
// kTls); after, kFailed, since the server may have acted on the request.
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "tls.h"

namespace w::net {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Connects to one of the host's addresses before the deadline; the socket
// is left blocking, with send/receive timeouts as a backstop.
Result<int> dial(const WsUrl& where, const std::string& shown, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(where.host.c_str(), std::to_string(where.port).c_str(), &hints, &res);
      rc != 0) {
    const std::string why = fmt::format("connect {}: host '{}': {}", shown, where.host,
                                        rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    return rc == EAI_NONAME || rc == EAI_NODATA ? Status(Code::kNoHost, why) : Status::Io(why);
  }
  Status last = Status::Io(fmt::format("connect {}: no address", shown));
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, ms_left(deadline));
      int err = rc == 0 ? ETIMEDOUT : 0;
      socklen_t n = sizeof err;
      if (rc > 0) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc == 0) {
      freeaddrinfo(res);
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      const int ms = std::max(1, ms_left(deadline));
      timeval tv{ms / 1000, static_cast<suseconds_t>(ms % 1000) * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      return fd;
    }
    last = Status::Io(fmt::format("connect {}: {}", shown, strerror(errno)));
    ::close(fd);
  }
  freeaddrinfo(res);
  return last;
}

// A connected socket, with TLS on top when asked for.
class Conn {
 public:
  Conn(int fd, SslCtx ctx, SSL* ssl) : fd_(fd), ctx_(std::move(ctx)), ssl_(ssl) {}
  ~Conn() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool write_all(std::string_view data) {
    while (!data.empty()) {
      const int n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                         : static_cast<int>(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL));
      if (n <= 0) {
        if (!ssl_ && n < 0 && errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  /// Bounds the next send or receive to what is left of the deadline, so
  /// a server sending a byte a second cannot keep the exchange going.
  void bound(Clock::time_point deadline) {
    const int ms = std::max(1, ms_left(deadline));
    timeval tv{ms / 1000, static_cast<suseconds_t>(ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  /// >0 bytes read, 0 at the end, <0 an error.
  int read(char* buf, int size) {
    while (true) {
      if (ssl_) {
        const int n = SSL_read(ssl_, buf, size);
        if (n > 0) return n;
        const int e = SSL_get_error(ssl_, n);
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      }
      const ssize_t n = ::recv(fd_, buf, static_cast<size_t>(size), 0);
      if (n < 0 && errno == EINTR) continue;
      return static_cast<int>(n);
    }
  }

 private:
  int fd_;
  SslCtx ctx_;
  SSL* ssl_;
};

Result<std::unique_ptr<Conn>> open(const WsUrl& where, const std::string& shown,
                                   const TlsOptions& tls, Clock::time_point deadline) {
  SslCtx ctx;
  if (where.tls) {
    auto made = client_ssl_ctx(tls);
    if (!made.ok()) return made.status();
    ctx = std::move(*made);
  }
  auto fd = dial(where, shown, deadline);
  if (!fd.ok()) return fd.status();
  if (!where.tls) return std::make_unique<Conn>(*fd, nullptr, nullptr);
  SSL* ssl = SSL_new(ctx.get());
  auto conn = std::make_unique<Conn>(*fd, std::move(ctx), ssl);
  if (!ssl) return Status::Internal("TLS: " + openssl_errors());
  SSL_set_fd(ssl, *fd);
  SSL_set_tlsext_host_name(ssl, where.host.c_str());
  if (!tls.insecure) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (!X509_VERIFY_PARAM_set1_ip_asc(param, where.host.c_str()))
      X509_VERIFY_PARAM_set1_host(param, where.host.c_str(), 0);
  }
  ERR_clear_error();
  if (SSL_connect(ssl) != 1) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
      return Status(Code::kTls, fmt::format("connect {}: {}", shown, verify_error_text(verify)));
    const std::string why = openssl_errors();
    if (why.empty())  // the socket failed (reset, timed out), not TLS itself
      return Status::Io(fmt::format("connect {}: TLS handshake: {}", shown,
                                    errno ? strerror(errno) : "connection closed"));
    return Status(Code::kTls,
                  fmt::format("connect {}: TLS handshake failed ({}); does the server speak TLS "
                              "on that port?",
                              shown, why));
  }
  return conn;
}

}  // namespace

Result<std::string> exchange(const WsUrl& where, std::string_view shown_as,
                             std::string_view request, double timeout_s, const TlsOptions& tls,
                             size_t max_bytes) {
  const std::string shown(shown_as);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  auto conn = open(where, shown, tls, deadline);
  if (!conn.ok()) return conn.status();
  if (!(*conn)->write_all(request))
    return Status(Code::kFailed,
                  fmt::format("{}: the connection broke while sending the request", shown));
  std::string got;
  char buf[65536];
  while (true) {
    (*conn)->bound(deadline);
    const int n = Clock::now() >= deadline ? -1 : (*conn)->read(buf, sizeof buf);
    if (n == 0) return got;
    if (n < 0) {
      const bool late = Clock::now() >= deadline || errno == EAGAIN || errno == EWOULDBLOCK;
      return Status(Code::kFailed,
                    late ? fmt::format("{}: no whole answer within {:g} s", shown, timeout_s)
                         : fmt::format("{}: the connection broke while reading the answer", shown));
    }
    got.append(buf, static_cast<size_t>(n));
    if (got.size() > max_bytes)
      return Status::Invalid(fmt::format("{}: an answer of more than {} bytes", shown, max_bytes));
  }
}

}  // namespace w::net
