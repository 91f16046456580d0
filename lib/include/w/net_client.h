// A WebSocket client with its own service thread, for wrun's pool mode and
// the clients of wpool, wsql and wsig.
//
// libwebsockets runs on a private thread; the caller's thread talks to it
// only through locked queues and lws_cancel_service(), the one call lws 4.1
// allows from another thread. send() blocks while more than `max_queued`
// bytes wait to be written, so a fast producer (wpool submit reading a pipe)
// is slowed to the network's pace instead of buffering without bound.
// notify_fd() becomes readable when a message (or the close) is waiting, so
// a poll() loop can wait on it beside other descriptors.
//
// TLS: wss:// (and https://, taken as wss://) verifies the server's
// certificate chain and host name against the system's CAs, or only the
// CAs of TlsOptions::cacert; a failure is Code::kTls, never a silent
// fallback. TlsOptions::insecure turns verification off, with a warning.
//
// Failures to connect come in two kinds (is_transient()): permanent ones a
// retry cannot mend (bad URL: kInvalid; unknown host: kNoHost; HTTP 404 or
// another 4xx, no WebSocket there: kUnavailable; HTTP 401/403: kDenied;
// TLS: kTls), and transient ones (refused, reset, timed out, HTTP 5xx, 408,
// 429: kIo or kTimeout), which a client retries with a Backoff.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "w/status.h"

namespace w::net {

struct Message {
  std::string data;
  bool binary = false;
};

/// How a client checks a server's certificate.
struct TlsOptions {
  std::string cacert;     ///< PEM file of the CAs to trust instead of the system's ("": system)
  bool insecure = false;  ///< check nothing (--insecure): the connection can be read and changed
};

/// What every ClientOptions starts with: a tool sets it once from --cacert
/// (W_CACERT) and --insecure, so connections made deep inside the library
/// (relay links) verify the same way. insecure prints a warning here.
void set_default_tls(const TlsOptions& tls);
const TlsOptions& default_tls();

struct ClientOptions {
  std::string protocol;             ///< WebSocket subprotocol; empty for none
  double connect_timeout = 10;      ///< seconds
  size_t max_queued = 8u << 20;     ///< bytes waiting to be sent before send() blocks
  size_t max_message = 256u << 20;  ///< bigger incoming messages close the connection
  TlsOptions tls = default_tls();   ///< for wss://
  /// true: libwebsockets runs on a private thread (see the top of the
  /// file). false: on the caller's, inside connect(), send() (when the
  /// queue is full), flush() and receive(): no thread hand-over per
  /// message (two wake-ups fewer per request and answer), for a client
  /// used by one thread that waits for its answers (wsql's). Nothing moves
  /// between those calls, so notify_fd() and try_receive() see only what
  /// the last of them read; close() is sent by the next of them.
  bool service_thread = true;
};

/// Parts of a ws://, wss://, http:// (as ws://) or https:// (as wss://) URL.
struct WsUrl {
  bool tls = false;        ///< wss:// or https://
  std::string host;        ///< without brackets for IPv6
  int port = 80;           ///< 443 for wss:// when the URL names none
  std::string path = "/";  ///< includes the query, as sent
  /// "wss://host:port" (scheme, host and port: where, without the path).
  std::string origin() const;
};
/// A malformed URL is kInvalid, naming what is wrong.
Result<WsUrl> parse_ws_url(std::string_view url);

/// Whether a failed connect() may work if tried again later.
bool is_transient(const Status& status);

/// The Status of a WebSocket handshake answered with HTTP `status` instead
/// of 101 (see the top of the file for the kinds).
Status http_refusal(unsigned status, std::string_view url);

/// When to retry a transient failure: capped exponential backoff with
/// jitter, so a restarted server is not hit by every client at once.
struct RetryOptions {
  double give_up_after = 30;   ///< seconds from the first failure; 0: never give up
  double first_delay = 0.1;    ///< seconds before the second attempt
  double max_delay = 30;       ///< the delay doubles up to this
  std::function<bool()> stop;  ///< true: stop waiting at once (a signal came)
};

/// The delays between attempts to reach a server: `first`, doubling up to
/// `max`, each times a jitter in [0.5, 1.5) so that the workers that lost
/// one pool together come back spread out, not in one wave. The one
/// schedule of native clients (Backoff) and the browser worker (its own
/// timers); no clock and no random source of its own.
class RetrySchedule {
 public:
  RetrySchedule(double first, double max) : first_(first), max_(max) {}
  /// The next delay in seconds; `unit` is a uniform sample in [0, 1).
  double next(double unit) {
    delay_ = delay_ == 0 ? first_ : std::min(delay_ * 2, max_);
    return delay_ * (0.5 + unit);
  }
  /// After a success: the next failure waits `first` again.
  void reset() { delay_ = 0; }

 private:
  double first_, max_;
  double delay_ = 0;  ///< the last delay before its jitter; 0: none since reset
};

/// Counts failed attempts and waits between them. On a terminal it draws
/// one progress line ("unreachable (...): retry 3 in 1.6 s"); otherwise
/// it logs one warning per attempt.
class Backoff {
 public:
  explicit Backoff(RetryOptions options);
  /// After a failure: a permanent one is returned as it is; a transient one
  /// is waited out (true: try again), unless give_up_after has passed since
  /// the first failure, then kTempFail saying for how long it was tried.
  /// `what` names the server ("pool ws://host:7070").
  Result<bool> wait(const Status& failure, std::string_view what);
  /// After a success: the next failure starts again from first_delay.
  void reset();
  int attempts() const { return attempts_; }

 private:
  RetryOptions options_;
  RetrySchedule schedule_;
  std::mt19937 rng_;
  int attempts_ = 0;
  double first_failure_ = 0;  // steady-clock seconds; 0: none since reset()
};

class Client {
 public:
  /// Connects and waits for the handshake, once. Errors say where and why,
  /// with a code telling permanent from transient failures (is_transient).
  static Result<std::unique_ptr<Client>> connect(const std::string& url,
                                                 const ClientOptions& options);
  /// connect() until it works, fails permanently, or `retry` gives up.
  static Result<std::unique_ptr<Client>> connect_retrying(const std::string& url,
                                                          const ClientOptions& options,
                                                          const RetryOptions& retry,
                                                          std::string_view what);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Queues a message; thread-safe. Blocks while the send queue is full.
  /// Fails once the connection is closed.
  Status send(std::string data, bool binary);
  /// Waits until everything queued has been handed to the socket.
  Status flush(int timeout_ms);

  /// Pops one message if one is waiting.
  bool try_receive(Message& message);
  /// Waits up to timeout_ms (-1: forever) for a message. False on timeout;
  /// an error once the connection is closed and nothing is left to read.
  Result<bool> receive(Message& message, int timeout_ms);

  /// Readable while messages wait or after the connection closed.
  int notify_fd() const;
  bool closed() const;
  /// Why the connection closed ("" while open).
  std::string close_reason() const;
  /// Closes after queued messages are written (does not wait).
  void close();

  struct Impl;

 private:
  Client() = default;
  std::unique_ptr<Impl> impl_;
};

/// One request and its answer over TCP or TLS (wsql's POST /rpc): connects
/// to `where` (TLS verified as for Client), writes `request`, and returns
/// every byte the server sends until it closes, within timeout_s. Only a
/// failure before the request was written is transient (then nothing was
/// sent, so it may be retried). `shown` names the server in errors. The
/// whole exchange ends within timeout_s and max_bytes of answer.
Result<std::string> exchange(const WsUrl& where, std::string_view shown, std::string_view request,
                             double timeout_s, const TlsOptions& tls = default_tls(),
                             size_t max_bytes = SIZE_MAX);

}  // namespace w::net
