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
#pragma once

#include <memory>
#include <string>

#include "w/status.h"

namespace w::net {

struct Message {
  std::string data;
  bool binary = false;
};

struct ClientOptions {
  std::string protocol;             ///< WebSocket subprotocol; empty for none
  double connect_timeout = 10;      ///< seconds
  size_t max_queued = 8u << 20;     ///< bytes waiting to be sent before send() blocks
  size_t max_message = 256u << 20;  ///< bigger incoming messages close the connection
};

/// Parts of a ws:// URL.
struct WsUrl {
  std::string host;
  int port = 80;
  std::string path = "/";  ///< includes the query, as sent
};
Result<WsUrl> parse_ws_url(std::string_view url);

class Client {
 public:
  /// Connects and waits for the handshake. Errors say where and why.
  static Result<std::unique_ptr<Client>> connect(const std::string& url,
                                                 const ClientOptions& options);
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

}  // namespace w::net
