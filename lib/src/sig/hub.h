// The PeerJS signalling protocol, without the network (see sig/server.cc).
//
// A peer is an id with a token and one WebSocket. Rules, as the stock PeerJS
// server (npm `peer` 1.0) applies them, and where wsig differs:
//
// - Connect: `{path}peerjs?key=K&id=I&token=T`. Missing id/token/key, a wrong
//   key, the concurrent limit, an id the client would reject, or a missing
//   group capability: {"type":"ERROR","payload":{"msg":...}} and close. An id
//   connected with another token: {"type":"ID-TAKEN",...} and close. The same
//   token: the new socket takes over (it gets OPEN, which the stock server
//   forgets to send, and the old socket is closed). A new id gets
//   {"type":"OPEN"}, then the messages queued for it, in order.
// - Messages are JSON objects in text or binary frames. HEARTBEAT does
//   nothing more than any message does: mark the peer alive. OFFER, ANSWER,
//   CANDIDATE, LEAVE and EXPIRE go to `dst` as {type, src, dst, payload}
//   with src set to the sender and payload spliced byte for byte. To an
//   absent dst, LEAVE and EXPIRE are dropped and the rest queued (mailbox.h).
//   Invalid JSON, unknown types and a missing or impossible dst are dropped.
// - A peer silent for the alive timeout is closed and removed.
// - Floods cost the sender (wsig only): each peer's JSON messages draw on a
//   token bucket (SigOptions::rate_limit); what it cannot pay for is
//   dropped, and a peer deep in debt is disconnected with ERROR "Too many
//   messages". What does not fit a receiver's queue (send_queue) is
//   dropped; the receiver stays.
//
// Groups (groups.h) and relay circuits (relay.h) ride on the same sockets.
//
// Threading: none. Every call comes from the server's service thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "groups.h"
#include "mailbox.h"
#include "outbox.h"
#include "relay.h"
#include "w/sig.h"

namespace w::sig {

struct HubStats {
  uint64_t registered = 0;  ///< peers accepted (new ids)
  uint64_t takeovers = 0;   ///< same id and token on a new socket
  uint64_t refused = 0;     ///< sockets answered ERROR or ID-TAKEN
  uint64_t relayed = 0;     ///< transmissions delivered at once
  uint64_t queued = 0;      ///< transmissions queued for an absent id
  uint64_t delivered = 0;   ///< queued transmissions delivered on connect
  uint64_t expired = 0;     ///< EXPIRE notices sent for dropped queues
  uint64_t dropped = 0;     ///< messages dropped (invalid, unknown, no dst)
  uint64_t heartbeats = 0;
  uint64_t timed_out = 0;     ///< peers closed by the alive timeout
  uint64_t dropped_full = 0;  ///< messages dropped: the receiver's queue was full
  uint64_t rate_limited = 0;  ///< messages dropped: the sender was over its rate
  uint64_t flooders = 0;      ///< peers disconnected for their debt
};

class Hub : public Directory {
 public:
  /// Milliseconds from any fixed origin, never going back.
  using Clock = std::function<int64_t()>;

  /// `options` must outlive the hub and be normalised.
  Hub(const SigOptions& options, Outbox& out, Clock clock);
  ~Hub() override;

  /// A WebSocket opened at {path}peerjs with these query arguments ("" if
  /// absent); `cap` is an optional group capability. True if `conn` is now
  /// a peer's (new, or taking over); false if it was refused.
  bool open(ConnId conn, std::string_view key, std::string_view id, std::string_view token,
            std::string_view cap = {});
  void message(ConnId conn, std::string_view data, bool binary);
  void closed(ConnId conn);
  /// Expires queues, times out silent peers and groups. Call often (100 ms).
  void tick();

  /// A random id no connected peer has (GET {path}{key}/id).
  std::string fresh_id() const;
  size_t peers() const { return peers_.size(); }

  ConnId conn_of(std::string_view id) const override;
  std::vector<std::string> ids_with_prefix(std::string_view prefix) const override;
  bool prefix_member(std::string_view id) const override;

  const HubStats& stats() const { return stats_; }
  const Mailboxes& mailboxes() const { return mail_; }
  const Groups& groups() const { return groups_; }
  const Relay& relay() const { return relay_; }

 private:
  struct Peer {
    std::string token;
    ConnId conn = 0;
    int64_t last_seen = 0;
    // The rate limit's bucket: tokens left (negative: debt) when last filled.
    double tokens = 0;
    int64_t filled = 0;
    // A member of the group its id names ("lab" for "lab-1"): no group
    // secret, or admitted with a join capability for that group.
    bool prefix_member = true;
  };
  // Transparent, so lookups by string_view allocate nothing.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PeerMap = std::unordered_map<std::string, Peer, IdHash, std::equal_to<>>;

  bool refuse(ConnId conn, std::string_view type, std::string_view msg);
  bool take_over(ConnId conn, PeerMap::iterator it);
  bool register_peer(ConnId conn, std::string_view id, std::string_view token, bool prefix_member);
  /// Charges a peer for a message of `size` bytes; false: drop it (the
  /// peer may have been disconnected: look it up again).
  bool charge(PeerMap::iterator it, size_t size, int64_t now);
  void transmit(const std::string& src, const Message& m);
  void remove(PeerMap::iterator it);
  void tell_expired(const std::string& src, const std::string& dst);
  void check_alive(int64_t now);
  /// Whether the capability in `cap` or `token` lets `id` join its prefix group.
  bool joins_prefix(std::string_view id, std::string_view token, std::string_view cap) const;

  const SigOptions& options_;
  Outbox& out_;
  Clock clock_;
  PeerMap peers_;
  // Sockets of registered peers, pointing at their entry in peers_ (node
  // pointers stay valid across rehashing).
  std::unordered_map<ConnId, PeerMap::value_type*> by_conn_;
  Mailboxes mail_;
  Groups groups_;
  Relay relay_;
  int64_t next_alive_check_ = 0;
  HubStats stats_;
};

}  // namespace w::sig
