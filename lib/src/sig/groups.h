// Peer groups: the WebRTC blog's prefix groups and an explicit group service.
//
// Prefix groups need nothing from clients: the connected peers whose ids
// start with "GROUP-" are GROUP's members (listed over HTTP). The explicit
// service runs over the same WebSocket with message types stock PeerJS
// clients never send:
//
//   peer -> wsig   {"type":"GROUP-CREATE"|"GROUP-JOIN"|"GROUP-LEAVE"|
//                   "GROUP-MEMBERS"|"GROUP-DELETE","group":G,"cap":C?}
//   wsig -> peer   {"type":"GROUP-MEMBERS","group":G,"payload":[ids]}
//                  {"type":"GROUP-JOIN"|"GROUP-LEAVE","src":ID,"group":G}
//                  {"type":"GROUP-DELETE","group":G}
//                  {"type":"GROUP-ERROR","group":G,"payload":{"msg":M}}
//
// CREATE and JOIN answer with the member list. Joined members are told when
// a member connects, joins, leaves or disconnects (including prefix members
// "G-..."). A joined member that disconnects keeps its place for the member
// timeout, so a reconnect with the same id and token needs no new JOIN; a
// created group with no connected joined member is deleted after the group
// timeout. With a group secret, CREATE needs a capability (w/cap.h, service
// "wsig", object G or "*") with right create, JOIN (and connecting as
// "G-..." to a created group) one with right join.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "message.h"
#include "outbox.h"
#include "w/sig.h"

namespace w::sig {

constexpr size_t kMaxGroupsPerPeer = 64;

struct GroupStats {
  uint64_t created = 0, deleted = 0, joins = 0, leaves = 0, errors = 0;
};

class Groups {
 public:
  Groups(const SigOptions& options, Outbox& out, const Directory& dir)
      : options_(options), out_(out), dir_(dir) {}

  /// A peer registered (new, or back within the member timeout);
  /// `prefix_member`: Directory::prefix_member().
  void on_connect(const std::string& id, bool prefix_member);
  /// A peer's connection is gone.
  void on_disconnect(const std::string& id, int64_t now, bool prefix_member);
  /// A GROUP-* message from connected peer `id`.
  void handle(const std::string& id, const Message& m, int64_t now);
  /// Expires away members and empty groups.
  void tick(int64_t now);

  /// Connected members, sorted: prefix members and joined members. Of a
  /// created group, only the prefix peers admitted into it (Directory).
  std::vector<std::string> members(std::string_view group) const;
  bool exists(std::string_view group) const { return groups_.count(std::string(group)) != 0; }
  size_t count() const { return groups_.size(); }
  const GroupStats& stats() const { return stats_; }

 private:
  struct Group {
    std::string owner;
    std::map<std::string, int64_t> members;  // id -> away since (0: connected)
    int64_t empty_since = 0;                 // 0 while a joined member is connected
  };

  void create(const std::string& id, const std::string& name, const Message& m);
  void join(const std::string& id, const std::string& name, const Message& m);
  void leave(const std::string& id, const std::string& name, int64_t now);
  void remove(const std::string& name);
  void reply_members(const std::string& id, const std::string& name);
  void error(const std::string& id, const std::string& name, std::string_view msg);
  /// Sends `data` to the connected joined members of `g` except `except`.
  void announce(const Group& g, const std::string& data, std::string_view except = {});
  bool has_connected_member(const Group& g) const;
  void forget(const std::string& id, const std::string& name);
  bool allowed(const Message& m, const std::string& name, uint32_t right) const;

  const SigOptions& options_;
  Outbox& out_;
  const Directory& dir_;
  std::unordered_map<std::string, Group> groups_;
  std::unordered_map<std::string, std::vector<std::string>> joined_;  // id -> groups
  GroupStats stats_;
};

/// {"type":T,"src":S?,"group":G,"payload":P?}
std::string group_message(std::string_view type, std::string_view src, std::string_view group,
                          std::string_view payload = {});

}  // namespace w::sig
