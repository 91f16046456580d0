// The browser worker's ordinary tasks and their watchdog: wrun.wasm's
// counterpart of the executor's slots, for one slot per Web Worker.
//
// The kernel runs in an inner Web Worker (www/kernel_worker.js), never on
// the thread of wrun.wasm and the pool's WebSocket. Tasks go to it in
// slices (up to kSliceTasks tasks, run for kSliceMs at most) and each
// result comes back as it ends, so this side knows which task runs and
// since when. Between slices it rests for the throttle (at p% it rests
// 100/p - 1 times as long as the slice took).
//
// The watchdog: a task still running the campaign's timeout after it began
// fails with "timeout: still running after N s" (an attempt, as in native
// wrun), the inner worker is terminated and replaced, and the slice's tasks
// after it go back to the front of the queue, unfailed, to run on the new
// one. A slice's clock starts when the inner worker says it began it (a
// replacement may take seconds to come up); one that has not begun within
// the timeout plus kStartMs fails its first task the same way. The kernel's memory is capped in the
// glue (www/kernel.js): past the cap the task fails with "out of memory" and the next one gets a
// fresh instance.
//
// Each task's Outcome goes to the worker's Session (session.h) as it ends;
// the session holds results to share a message.
//
// REQUIRES: everything runs on the Web Worker's one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "w/executor.h"

namespace w::worker {

class BrowserTasks {
 public:
  /// A task ended (ok: output, else error).
  using OutcomeFn = std::function<void(sandbox::Outcome)>;
  /// The tasks' state changed (for the page's status line).
  using ChangeFn = std::function<void()>;
  BrowserTasks(OutcomeFn done, ChangeFn changed);
  ~BrowserTasks();

  /// The campaign's timeout per task (0: none).
  void set_timeout(int64_t ms) { timeout_ms_ = ms; }
  void set_throttle(int percent) { throttle_ = percent; }
  /// Tasks run only while the campaign's kernel is ready; a kernel that
  /// cannot load (`why`) fails the tasks waiting for it.
  void set_kernel(bool ready, const std::string& why = {});

  /// A task from a `tasks` item.
  void add(int64_t id, std::string input);
  /// The ids of the tasks received and not finished (a `bye`'s `returned`).
  std::vector<int64_t> held() const;
  /// The pool connection is gone or paused: everything is dropped (the
  /// pool re-queues) and a running kernel stopped.
  void clear();

  bool busy() const { return !waiting_.empty() || !running_.empty(); }
  size_t queued() const { return waiting_.size() + running_.size(); }
  int64_t done() const { return done_; }
  int64_t failed() const { return failed_; }
  /// Counts a result sent by someone else (a member's) in done()/failed().
  void count(bool ok) { ++(ok ? done_ : failed_); }

  /// From the inner worker: it began slice `batch` (its clock starts now:
  /// a kernel worker that was still starting does not count against it).
  void on_started(int batch);
  /// From the inner worker: the result of task `id` of slice `batch`;
  /// `end`: the slice is over (the tasks after this one were not run).
  void on_result(int batch, int64_t id, bool ok, const std::string& bytes, double ms, bool end);
  /// The inner worker failed by itself (it was replaced): the running task
  /// fails with `why`, the slice's others run again.
  void on_kernel_failed(const std::string& why);

 private:
  struct Task {
    int64_t id;
    std::string input;
  };
  void schedule_run(double delay_ms);
  void run_slice();
  void end_slice(const std::string& why);
  double deadline() const;  // of the running task (or of the slice's start)
  void arm_watchdog();
  static void watchdog(void* self);
  void finish(int64_t id, bool ok, const std::string& bytes, double ms);

  OutcomeFn done_fn_;
  ChangeFn changed_;
  int64_t timeout_ms_ = 60000;
  int throttle_ = 100;  // percent of one core
  bool ready_ = false, run_scheduled_ = false;
  int watchdog_timer_ = 0;          // the armed watchdog's timeout id (0: none)
  bool started_ = false;            // the inner worker said it began the slice in flight
  std::deque<Task> waiting_;        // received, not handed to the inner worker
  std::deque<Task> running_;        // the slice in the inner worker, in order, not finished
  int batch_ = 0, last_batch_ = 0;  // the slice in flight (0: none), the last one's number
  double slice_start_ = 0;          // when the slice was handed over, then began
  double task_start_ = 0;           // when running_.front() began (its predecessor's end)
  int64_t done_ = 0, failed_ = 0;
};

}  // namespace w::worker
