// A thread that runs tasks one after another, in the order they were
// posted. wsql gives one to each database that has had a request handed
// off the event loop (see engine_jobs.cc), and one to each running copy.
//
// Threading: post() and pending() may be called from any thread; tasks run
// on the worker's own thread. The destructor waits for the queued tasks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace w::sql {

class Worker {
 public:
  Worker();
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Queues `task`, then `done` to run after it: pending() counts the task
  /// until it has returned, and no longer when `done` runs, so `done` may
  /// tell another thread that the owner is free (it must not touch it).
  void post(std::function<void()> task, std::function<void()> done = nullptr);
  /// Tasks posted and not yet finished. Zero means the thread touches
  /// nothing of its owner's: a finished task's effects happen-before a
  /// pending() that reads 0 (release/acquire).
  int pending() const { return pending_.load(std::memory_order_acquire); }

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  struct Task {
    std::function<void()> run, done;
  };
  std::deque<Task> queue_;  // guarded by mu_
  bool stop_ = false;       // guarded by mu_
  std::atomic<int> pending_{0};
  std::thread thread_;  // last: starts after the fields above exist
};

}  // namespace w::sql
