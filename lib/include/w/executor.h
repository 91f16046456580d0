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

namespace w::worker {

struct Task {
  uint64_t id = 0;
  std::string input;    ///< one msgpack map
  std::string restore;  ///< the task's last checkpoint, if it is resumed; else empty
};

struct Outcome {
  uint64_t id = 0;
  bool ok = false;
  std::string output;  ///< msgpack, possibly empty (the kernel returned nothing)
  std::string error;   ///< why it failed, in words
  double ms = 0;       ///< time in w_main (or until the slot died)
  int slot = 0;
};

struct ExecutorConfig {
  sandbox::SlotConfig slot;
  int slots = 1;
  double timeout = 60;  ///< seconds per task, wall clock; 0 = none
  int max_depth = 64;   ///< most tasks queued on one slot
  /// Called from poll() with each checkpoint a running task saves
  /// (w_checkpoint), before that task's Outcome; unset: checkpoints are dropped.
  std::function<void(uint64_t task, std::string state)> on_checkpoint;
};

class Executor {
 public:
  explicit Executor(ExecutorConfig config);
  ~Executor();

  /// Starts every slot; fails if the kernel cannot be loaded or initialised.
  Status start();

  /// True if submit() would queue the task on a slot right away.
  bool can_accept() const;
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
  Status handle_slot(SlotState& s, std::vector<Outcome>& done);
  Status fail_and_restart(SlotState& s, std::string why, std::vector<Outcome>& done);
  void check_timeouts(std::vector<Outcome>& done, Status& status);
  int next_deadline_ms() const;

  ExecutorConfig config_;
  std::vector<std::unique_ptr<SlotState>> slots_;
  std::deque<Task> pending_;  // submitted, not yet on a slot (requeued first)
  size_t in_flight_ = 0;
  int restarts_ = 0;
  double avg_ms_ = -1;  // moving average of task time, for the queue depth
};

}  // namespace w::worker
