// Relay circuits: wsig carries bytes between two connected peers that cannot
// open a WebRTC DataChannel (native workers), as PSciLab's proxy did.
//
//   A -> wsig  {"type":"RELAY-OPEN","dst":"B"}
//   wsig -> B  {"type":"RELAY-OPEN","src":"A","window":W}   (and the same to A, src B)
//   A -> wsig  binary frame  0x00 len(B) B data...          data for B
//   wsig -> B  binary frame  0x00 len(A) A data...          the same data, from A
//   B -> wsig  {"type":"RELAY-ACK","dst":"A","bytes":N}      B has consumed N bytes
//   wsig -> A  {"type":"RELAY-ACK","src":"B","bytes":N}
//   either     {"type":"RELAY-CLOSE","dst":X}  ->  X gets {"type":"RELAY-CLOSE","src":...}
//
// Flow control is a credit window per direction: at most W bytes sent by A
// and not yet acknowledged by B may be in flight. A slow receiver acks
// slowly, so its sender waits; a sender that ignores the window loses the
// circuit ({"type":"RELAY-CLOSE",...,"payload":{"msg":"Window exceeded"}}).
// So wsig buffers at most W bytes per circuit and direction, and a peer has
// at most relay_circuits circuits. A binary frame whose first byte is 0 is
// relay data; any other message is JSON. A disconnect closes the peer's
// circuits (the other side gets RELAY-CLOSE with a reason).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "message.h"
#include "outbox.h"
#include "w/sig.h"

namespace w::sig {

struct RelayStats {
  uint64_t opened = 0, closed = 0, frames = 0, bytes = 0, window_violations = 0;
};

class Relay {
 public:
  Relay(const SigOptions& options, Outbox& out, const Directory& dir)
      : options_(options), out_(out), dir_(dir) {}

  /// RELAY-OPEN, RELAY-ACK or RELAY-CLOSE from connected peer `id`.
  void handle(const std::string& id, const Message& m);
  /// A binary relay frame (first byte 0) from connected peer `id`.
  void data(const std::string& id, std::string_view frame);
  /// Closes every circuit of a peer that went away.
  void on_disconnect(const std::string& id);
  /// Whether RELAY-ACK `m` from `id` acknowledges bytes in flight to it:
  /// such acks are paid for by the data they answer (Hub's rate limit).
  bool acknowledges(const std::string& id, const Message& m) const;

  size_t circuits() const { return circuits_.size(); }
  /// Bytes in flight on all circuits (sent, not yet acknowledged).
  size_t in_flight() const { return in_flight_; }
  const RelayStats& stats() const { return stats_; }

 private:
  struct Circuit {
    size_t flight[2] = {0, 0};  // [0]: bytes from key.first to key.second
  };
  using Key = std::pair<std::string, std::string>;  // the two ids, sorted
  static Key key_of(std::string_view a, std::string_view b);

  void open(const std::string& id, const std::string& dst);
  void ack(const std::string& id, const std::string& dst, int64_t bytes);
  /// Removes a circuit; tells `a` and `b` unless they are "".
  void close(const Key& key, const std::string& tell_a, const std::string& tell_b,
             std::string_view reason);
  void refuse(const std::string& id, std::string_view dst, std::string_view reason);
  void unlink(const std::string& id, const std::string& other);

  const SigOptions& options_;
  Outbox& out_;
  const Directory& dir_;
  std::map<Key, Circuit> circuits_;
  std::unordered_map<std::string, std::vector<std::string>> by_peer_;  // id -> other ends
  size_t in_flight_ = 0;
  RelayStats stats_;
};

}  // namespace w::sig
