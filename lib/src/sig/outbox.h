// The two seams between wsig's protocol logic and the network: where
// messages go (Outbox) and who is connected (Directory). The Hub implements
// Directory; the real Outbox is net::Server, a test's is a vector.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "w/net.h"

namespace w::sig {

using net::ConnId;

class Outbox {
 public:
  virtual ~Outbox() = default;
  /// Queues one WebSocket message (text unless `binary`). False: dropped,
  /// the receiver's queue is full (SigOptions::send_queue) or it is gone.
  virtual bool send(ConnId conn, std::string data, bool binary) = 0;
  /// Closes a connection once what was sent to it is written.
  virtual void close(ConnId conn) = 0;
};

class Directory {
 public:
  virtual ~Directory() = default;
  /// The connection of a connected peer, or 0.
  virtual ConnId conn_of(std::string_view id) const = 0;
  /// Connected ids starting with `prefix`, sorted.
  virtual std::vector<std::string> ids_with_prefix(std::string_view prefix) const = 0;
  /// Whether connected `id` counts in the group its prefix names: always
  /// without a group secret; with one, only if it connected with a join
  /// capability for that group (it may have connected before the group
  /// was created, when it needed none).
  virtual bool prefix_member(std::string_view id) const = 0;
};

}  // namespace w::sig
