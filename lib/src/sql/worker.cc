#include "worker.h"

namespace w::sql {

Worker::Worker() : thread_([this] { run(); }) {}

Worker::~Worker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Worker::post(std::function<void()> task, std::function<void()> done) {
  pending_.fetch_add(1, std::memory_order_acq_rel);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Task{std::move(task), std::move(done)});
  }
  cv_.notify_one();
}

void Worker::run() {
  while (true) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      // Queued tasks run even when stopping: each owes its poster an answer.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task.run();
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    if (task.done) task.done();
  }
}

}  // namespace w::sql
