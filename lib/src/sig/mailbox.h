// Messages waiting for a peer that is not connected (yet).
//
// PeerJS queues an OFFER/ANSWER/CANDIDATE sent to an absent id and delivers
// it when that id connects; a queue that waits longer than the expire
// timeout is dropped and each sender is told with EXPIRE. The stock server
// lets queues grow without bound; here each id's queue and all queues
// together are capped, and the oldest message makes room (its sender is told
// with EXPIRE, as if it had expired).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

namespace w::sig {

struct Pending {
  std::string src;   ///< who sent it (to tell them if it is dropped)
  std::string data;  ///< the message exactly as the receiver will get it
};

class Mailboxes {
 public:
  /// Called once per (src, dst) pair whose messages were dropped undelivered.
  using DropFn = std::function<void(const std::string& src, const std::string& dst)>;

  Mailboxes(size_t per_id, size_t total_bytes, int64_t expire_ms)
      : per_id_(per_id), total_bytes_(total_bytes), expire_ms_(expire_ms) {}

  /// Queues `data` for `dst`, dropping the oldest messages if a limit is hit.
  void push(const std::string& dst, std::string src, std::string data, int64_t now,
            const DropFn& dropped);
  /// Removes dst's queue and returns its messages in arrival order.
  std::deque<Pending> take(const std::string& dst);
  /// Drops every queue created at least expire_ms before `now`.
  void expire(int64_t now, const DropFn& dropped);

  size_t messages() const { return messages_; }
  size_t bytes() const { return bytes_; }
  size_t ids() const { return boxes_.size(); }

 private:
  struct Box {
    int64_t created = 0;
    std::deque<Pending> queue;
  };
  void pop_front(const std::string& dst, Box& box, const DropFn& dropped);
  void drop_box(const std::string& dst, const DropFn& dropped);

  size_t per_id_, total_bytes_;
  int64_t expire_ms_;
  std::unordered_map<std::string, Box> boxes_;
  // (created, dst) in creation order: the expiry schedule. Entries whose box
  // was taken or re-created meanwhile are stale and skipped.
  std::deque<std::pair<int64_t, std::string>> order_;
  size_t messages_ = 0, bytes_ = 0;
};

}  // namespace w::sig
