// Inside a slot child: the direct links a member of a coupled task was
// handed by its worker (w-protocol(7) "Direct links", "Handed to the
// member").
//
// Once the worker has a direct link to another member's worker, it hands
// the link's socket to its member: for writing at the member's next w_send
// to that rank, for reading at its next w_recv from it (each when nothing
// of that rank's is queued in the worker any more). From then on those
// messages go kernel to kernel, one wake-up each way instead of three, and
// the worker keeps out of that direction of the socket until the task
// ends. The bytes on the socket keep the worker's framing (u32 length |
// u8 kind | u32 from rank | message), so either end may be the worker or
// its member. What the member reads that is the worker's business (a
// barrier token, the peer's "finished") it passes on in a kFrameLinkNote;
// the end of the stream it reports too, and then asks the worker.
//
// Blocking: a w_send waits for the socket to take the message, reading
// meanwhile whatever its handed links bring (up to 32 MiB a link, as the
// worker would hold), so two members sending each other large messages do
// not wait on each other for ever.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace w::sandbox {

class MemberLinks {
 public:
  /// What recv() found.
  enum class Got { kMessage, kTimeout, kEnded };

  /// `note(rank, what)` sends a kFrameLinkNote to the worker.
  using NoteFn = void (*)(int rank, uint8_t what);
  explicit MemberLinks(NoteFn note) : note_(note) {}

  /// The task ended: closes every handed socket.
  void reset();
  void set_writer(int rank, int fd);
  void set_reader(int rank, int fd);
  bool writes_to(int rank) const { return find(rank, true) != nullptr; }
  bool reads_from(int rank) const;

  /// Writes one message from `self` to `to` (a writer); false if the link
  /// failed (reported to the worker, which decides what the call returns).
  bool send(int self, int to, const void* bytes, size_t n);
  /// The next message from `from` (a reader) within `timeout_ms` (< 0: no
  /// limit), at most `cap` bytes of it copied to `buffer` (a large one is
  /// read there in place), its length in `length`. kEnded: the stream ended
  /// (the peer finished or was lost, both reported); the worker answers
  /// from then on.
  Got recv(int from, int timeout_ms, void* buffer, size_t cap, size_t& length);

 private:
  struct Link {
    int rank = -1;
    int fd = -1;
    bool writer = false;
    bool ended = false;    // reader: no more bytes will come
    bool corrupt = false;  // reader: not the peer's framing, nothing more is read
    // Reader: received bytes are in[at, len): the buffer is kept and grown,
    // not cleared, so a read does not pay for zeroing it.
    std::string in;
    size_t at = 0, len = 0;
    std::deque<std::string> messages;  // read ahead while a send waited
    size_t message_bytes = 0;
  };
  Link* find(int rank, bool writer);
  const Link* find(int rank, bool writer) const;
  /// One read of `l`'s socket: > 0 bytes came, 0 none yet, < 0 it ended.
  int fill(Link& l);
  /// Handles the bodies at the front of l.in that are not messages; the
  /// length of the message body at the front, or -1 if none has begun.
  long front(Link& l);
  /// Moves the whole bodies of l.in into l.messages (a send waits).
  void take_all(Link& l);
  void end(Link& l, bool finished);

  NoteFn note_;
  std::vector<Link> links_;
};

}  // namespace w::sandbox
