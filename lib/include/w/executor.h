// Executor: runs tasks on N sandboxed slot processes (one per -j).
//
// The same machinery serves wrun's filter mode (datasets from stdin) and its
// pool mode (tasks from a pool): callers submit tasks while can_accept(),
// call poll() in their loop, and get one Outcome per task. Each slot keeps a
// short queue (deep enough that a slot never waits on the worker for tiny
// tasks, shallow enough that long tasks spread evenly). A task's timeout
// counts from when its slot starts it. When a slot dies or times out, the
// task it was running fails with the reason, the tasks queued behind it go
// back to the front of the line, and the slot is restarted. A task may carry
// a restore state (its last checkpoint), and the checkpoints a running task
// saves reach the caller through on_checkpoint.
//
// A task of a coupled campaign runs as K members (Task::size = K), each on a
// slot of its own with nothing queued behind it; members go ahead of
// ordinary tasks and start on idle slots only. Their messages and barriers
// are routed between the slots here (lib/src/worker/group.h), and to members
// on other processes through a Remote.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "w/sandbox.h"
#include "w/status.h"

namespace w::sandbox {

struct Task {
  uint64_t id = 0;
  std::string input;    ///< one msgpack map
  std::string restore;  ///< the task's last checkpoint, if it is resumed; else empty
  // A member of a coupled task: its group run's id, its rank, and K (>= 2).
  std::string group;
  int rank = 0;
  int size = 0;
  std::string link;  ///< the run's secret for direct links between workers (pool mode)
  int64_t step = 0;  ///< a member resumed from `restore`: the checkpoint step it was saved at
  bool member() const { return size > 1; }
};

struct Outcome {
  uint64_t id = 0;
  bool ok = false;
  std::string output;  ///< msgpack, possibly empty (the kernel returned nothing)
  std::string error;   ///< why it failed, in words
  double ms = 0;       ///< time in w_main (or until the slot died)
  int slot = 0;
  std::string group;  ///< a member's group run and rank (Task::group, Task::rank)
  int rank = 0;
};

/// Carries coupled tasks' traffic to members that run in other processes
/// (pool mode: wsig's relay, worker/relay.h). Called from Executor::poll.
class Remote {
 public:
  virtual ~Remote() = default;
  /// A member of `group` was submitted here / has finished (`failed`: with
  /// an error) or was stopped (failed too).
  virtual void member_added(const std::string& group, int rank, int size) = 0;
  virtual void member_ended(const std::string& group, int rank, bool failed) = 0;
  /// Sends `body` (the router's framing) from local member `from` to rank `to`.
  virtual void send(const std::string& group, int from, int to, std::string body) = 0;
  /// Bytes local member `from` has sent that are not yet acknowledged by
  /// their receivers: its w_send is held while this is large.
  virtual size_t backlog(const std::string& group, int from) const = 0;
  /// Direct links a member takes over (w-protocol(7) "Handed to the
  /// member"): the socket of local member `from`'s link to rank `to`, for
  /// its own writing, or of local member `to`'s link from `from`, for its
  /// reading; -1: not now (something of that direction is still queued
  /// here), or not at all. The Remote keeps its copy of the socket and
  /// stays off that direction until the member ends.
  virtual int take_writer(const std::string& /*group*/, int /*from*/, int /*to*/) { return -1; }
  virtual int take_reader(const std::string& /*group*/, int /*to*/, int /*from*/) { return -1; }
  /// What local member `rank` read on a link it took from `peer` that is
  /// the Remote's: the peer finished, or the link ended without that.
  virtual void link_note(const std::string& /*group*/, int /*rank*/, int /*peer*/,
                         bool /*finished*/) {}
  /// The run broke here: members waiting on links they took must wake.
  virtual void broken(const std::string& /*group*/) {}
};

struct ExecutorConfig {
  sandbox::SlotConfig slot;
  int slots = 1;
  double timeout = 60;  ///< seconds per task, wall clock; 0 = none
  int max_depth = 64;   ///< most tasks queued on one slot
  /// Called from poll() with each checkpoint a running task saves
  /// (w_checkpoint), before that task's Outcome; unset: checkpoints are dropped.
  std::function<void(const Task& task, std::string state)> on_checkpoint;
};

class Executor {
 public:
  explicit Executor(ExecutorConfig config);
  ~Executor();

  /// Starts every slot; fails if the kernel cannot be loaded or initialised.
  Status start();

  /// True if submit() would queue the task on a slot right away.
  bool can_accept() const;
  /// True if `size` members submitted now would all start at once.
  bool can_accept_group(int size) const;
  /// Stops the members of `group` held here: their slots are killed and
  /// restarted, queued ones dropped, and no Outcome comes for any of them.
  /// Returns how many members it stopped.
  int abort_group(const std::string& group);
  /// Where members' messages to ranks not held here go; null: nowhere.
  void set_remote(Remote* remote);
  /// Traffic from a remote member for local member `to` of `group`.
  void deliver(const std::string& group, int to, std::string_view body);
  /// A remote member of `group` was lost.
  void member_lost(const std::string& group, int rank);
  void submit(Task task);
  /// Tasks submitted and not yet answered.
  size_t in_flight() const { return in_flight_; }

  /// Waits up to `wait_ms` (-1: until something happens) for slot replies or
  /// for `extra` descriptors (their revents are filled in), enforces
  /// timeouts, restarts dead slots and appends finished tasks to `done`.
  Status poll(int wait_ms, std::vector<Outcome>& done, std::span<struct pollfd> extra = {});

  /// Slots restarted after a crash or timeout, since start().
  int restarts() const { return restarts_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct SlotState;

  int target_depth() const;
  void dispatch();
  void start_on(SlotState& s, Task task);
  Outcome outcome_of(const SlotState& s) const;
  void answer(int slot, sandbox::Call call, int rc, std::string_view message, int fd = -1);
  Status handle_slot(SlotState& s, std::vector<Outcome>& done);
  Status fail_and_restart(SlotState& s, std::string why, std::vector<Outcome>& done);
  void check_timeouts(std::vector<Outcome>& done, Status& status);
  int next_deadline_ms() const;

  ExecutorConfig config_;
  std::vector<std::unique_ptr<SlotState>> slots_;
  std::deque<Task> pending_;          // submitted, not yet on a slot (requeued first)
  std::deque<Task> pending_members_;  // members waiting for an idle slot: they go first
  std::unique_ptr<class Groups> groups_;
  Status deferred_;  // a slot abort_group could not restart: poll() reports it
  size_t in_flight_ = 0;
  int restarts_ = 0;
  double avg_ms_ = -1;  // moving average of task time, for the queue depth
};

}  // namespace w::sandbox
