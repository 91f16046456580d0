// The router of coupled tasks: carries the members' messages and barriers.
//
// Each group run this process holds has an entry with its local members
// (added when their tasks are submitted, so messages for a member still
// waiting for a slot are kept for it). A member's w_send to a local member
// lands in that member's inbox for the sender; to any other rank it goes to
// the Remote (wsig's relay in pool mode). The route between two ranks is
// chosen at their first message and kept, so messages between two members
// arrive in the order they were sent. A barrier is all-to-all: each member
// that enters barrier n sends a token to every other member and leaves when
// it holds n tokens from each; a w_barrier that timed out stays entered, so
// calling it again waits for the same barrier. A member that fails, or a
// remote member that is lost, breaks its group run: every call of the
// others answers W_EGROUP from then on.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "w/executor.h"
#include "w/sandbox.h"

namespace w::sandbox {

/// What a group run's remote traffic body starts with (after the sender's rank).
enum BodyKind : uint8_t {
  kBodyMessage = 1,
  kBodyBarrier = 2,
  kBodyFinished = 3,   ///< the sender finished: its circuit closing is no loss (RelayRouter)
  kBodyLinkOffer = 4,  ///< the sender's worker takes direct links at this address (RelayRouter)
};

/// body = u8 kind | u32 from rank | message bytes (none for kBodyBarrier).
std::string make_body(BodyKind kind, int from, std::string_view message);

/// The head of a body on a direct link, as a member reads it from a link it
/// was handed: u32 length (of what follows) | u8 kind | u32 from.
struct LinkHead {
  BodyKind kind = kBodyMessage;
  size_t message = 0;  ///< bytes of message after the head
};
constexpr size_t kLinkHead = 4 + 1 + 4;
/// 0: fewer than kLinkHead bytes; 1: `head` filled; -1: not `peer`'s
/// framing: a sender other than `peer`, a length under 5 or with more than
/// `max_message` bytes of message, or a body link_body_allowed() refuses.
int decode_link_head(std::string_view in, int peer, size_t max_message, LinkHead& head);
/// What a direct link from `peer` may carry, whoever reads it (its worker,
/// or its member once handed the link): `peer`'s message, barrier token or
/// finish, the two tokens without bytes; not an offer (those come by the
/// relay) nor a body in another rank's name.
bool link_body_allowed(std::string_view body, int peer);

class Groups {
 public:
  /// Answers a member's pending call: `slot` is the slot it runs on.
  /// `fd` >= 0: a direct link's socket goes with it (rc kHandover).
  using AnswerFn =
      std::function<void(int slot, sandbox::Call call, int rc, std::string_view message, int fd)>;
  explicit Groups(AnswerFn answer) : answer_(std::move(answer)) {}

  void set_remote(Remote* remote) { remote_ = remote; }

  /// A member was submitted / started on `slot` / finished (`failed`: it
  /// failed, which breaks its run) / its run was aborted here.
  void add(const std::string& group, int rank, int size);
  void start(const std::string& group, int rank, int slot);
  void end(const std::string& group, int rank, bool failed);
  void erase(const std::string& group);

  /// A call of the member's hooks (Reply::call).
  void call(const std::string& group, int rank, const sandbox::Reply& r);
  /// Traffic from a remote member for local member `to` (see make_body).
  void deliver(const std::string& group, int to, std::string_view body);
  /// A remote member went away: the run is broken.
  void lost(const std::string& group, int rank);

  /// Milliseconds until the next call times out; -1: none waits with a timeout.
  int next_deadline_ms() const;
  /// Answers the calls whose timeout is up with W_ETIMEOUT.
  void expire();

  bool holds(const std::string& group) const { return runs_.count(group) > 0; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Member {
    int slot = -1;
    bool ended = false;
    std::vector<std::deque<std::string>> inbox;  // by sender rank
    std::vector<size_t> inbox_bytes;
    std::vector<int> tokens;  // barrier tokens from each rank
    std::vector<char> route;  // to each rank: 0 not chosen, 1 local, 2 remote
    int barrier_entered = 0, barrier_left = 0;
    sandbox::Call waiting = sandbox::Call::kNone;
    int waiting_from = 0;
    bool has_deadline = false;
    Clock::time_point deadline;
    int held_send_to = -1;     // a w_send answered only once `to` has read enough
    bool held_remote = false;  // a w_send answered once the Remote's backlog is small
  };
  struct Run {
    std::string name;
    int size = 0;
    bool broken = false;
    std::map<int, Member> members;
  };

  void answer(Member& m, sandbox::Call call, int rc, std::string_view message = {}, int fd = -1);
  /// Hands local member `rank` the link it reads `from`'s messages on, if
  /// the Remote can now; true if it did (m's recv is answered).
  bool hand_reader(Run& run, int rank, Member& m, int from);
  void wait(Member& m, sandbox::Call call, int from, int timeout_ms);
  /// Answers m's waiting call if it can be answered now.
  void progress(Run& run, int rank, Member& m);
  bool barrier_reached(const Run& run, int rank, const Member& m) const;
  /// Puts traffic from `from` into local member `to` (if it still runs).
  void put(Run& run, int from, int to, BodyKind kind, std::string message);
  /// Routes traffic from local member `from` to rank `to`; false if `to` is unreachable.
  bool route(const std::string& group, Run& run, int from, Member& m, int to, BodyKind kind,
             std::string message);
  void break_run(Run& run);
  void release_sender(Run& run, int reader_rank, int sender);

  AnswerFn answer_;
  Remote* remote_ = nullptr;
  std::map<std::string, Run> runs_;
};

}  // namespace w::sandbox
