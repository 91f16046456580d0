#include "tasks_emscripten.h"

#include <emscripten.h>
#include <emscripten/eventloop.h>

#include <algorithm>

#include <fmt/format.h>

#include "browser_host.h"

namespace w::worker {
namespace {

constexpr size_t kSliceTasks = 64;  // tasks handed to the inner worker at once
constexpr double kSliceMs = 20;     // it comes back after this much work
constexpr double kStartMs = 30000;  // the inner worker's time to come up, beyond the timeout

BrowserTasks* g_tasks = nullptr;  // the one of this Web Worker

}  // namespace

BrowserTasks::BrowserTasks(OutcomeFn done, ChangeFn changed)
    : done_fn_(std::move(done)), changed_(std::move(changed)) {
  g_tasks = this;
}

BrowserTasks::~BrowserTasks() {
  if (watchdog_timer_) emscripten_clear_timeout(watchdog_timer_);
  if (g_tasks == this) g_tasks = nullptr;
}

void BrowserTasks::set_kernel(bool ready, const std::string& why) {
  ready_ = ready;
  if (ready) return schedule_run(0);
  if (why.empty()) return;
  while (!waiting_.empty()) {
    const int64_t id = waiting_.front().id;
    waiting_.pop_front();
    finish(id, false, why, 0);
  }
}

void BrowserTasks::add(int64_t id, std::string input) {
  waiting_.push_back({id, std::move(input)});
  schedule_run(0);
}

std::vector<int64_t> BrowserTasks::held() const {
  std::vector<int64_t> ids;
  for (const Task& t : running_) ids.push_back(t.id);
  for (const Task& t : waiting_) ids.push_back(t.id);
  return ids;
}

void BrowserTasks::clear() {
  if (!running_.empty()) js_kernel_stop();
  running_.clear();
  waiting_.clear();
  batch_ = 0;
  ready_ = false;
}

void BrowserTasks::schedule_run(double delay_ms) {
  if (run_scheduled_ || !ready_ || waiting_.empty() || batch_) return;
  run_scheduled_ = true;
  emscripten_set_timeout(
      [](void*) {
        if (!g_tasks) return;
        g_tasks->run_scheduled_ = false;
        g_tasks->run_slice();
      },
      delay_ms, nullptr);
}

// Hands the next slice to the inner worker; its results come to on_result.
void BrowserTasks::run_slice() {
  if (!ready_ || waiting_.empty() || batch_) return;
  for (size_t i = 0; i < kSliceTasks && !waiting_.empty(); ++i) {
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    const Task& t = running_.back();
    js_task_add(static_cast<double>(t.id), reinterpret_cast<const uint8_t*>(t.input.data()),
                t.input.size());
  }
  batch_ = last_batch_ = last_batch_ % 1000000 + 1;
  started_ = false;
  slice_start_ = task_start_ = emscripten_get_now();
  js_tasks_run(batch_, kSliceMs);
  arm_watchdog();
  changed_();
}

void BrowserTasks::on_started(int batch) {
  if (batch != batch_ || started_) return;
  started_ = true;
  slice_start_ = task_start_ = emscripten_get_now();
  // The deadline came nearer (the start's grace is over): set the timer again.
  if (watchdog_timer_) emscripten_clear_timeout(watchdog_timer_);
  watchdog_timer_ = 0;
  arm_watchdog();
}

void BrowserTasks::on_result(int batch, int64_t id, bool ok, const std::string& bytes, double ms,
                             bool end) {
  // A slice the watchdog ended, or one of a lost connection: nobody waits for it.
  if (batch != batch_ || running_.empty() || running_.front().id != id) return;
  running_.pop_front();
  task_start_ = emscripten_get_now();
  finish(id, ok, bytes, ms);
  if (end) end_slice("");
}

void BrowserTasks::on_kernel_failed(const std::string& why) {
  if (batch_) end_slice(why);
}

// The slice is over: its unfinished tasks go back to the front of the
// queue (the first of them failed with `why` if there is one), and the
// next slice comes after the throttle's rest.
void BrowserTasks::end_slice(const std::string& why) {
  batch_ = 0;
  const double now = emscripten_get_now();
  if (!why.empty() && !running_.empty()) {
    const int64_t id = running_.front().id;
    running_.pop_front();
    finish(id, false, why, now - task_start_);
  }
  while (!running_.empty()) {
    waiting_.push_front(std::move(running_.back()));
    running_.pop_back();
  }
  changed_();
  schedule_run((now - slice_start_) * (100.0 / throttle_ - 1.0));
}

double BrowserTasks::deadline() const {
  return task_start_ + static_cast<double>(timeout_ms_) + (started_ ? 0 : kStartMs);
}

void BrowserTasks::arm_watchdog() {
  if (watchdog_timer_ || timeout_ms_ <= 0 || running_.empty()) return;
  watchdog_timer_ = emscripten_set_timeout(
      watchdog, std::max(deadline() - emscripten_get_now(), 0.0) + 1, nullptr);
}

// One timer at a time, set for the running task's deadline; when that task
// ended meanwhile, it is set again for the one running now.
void BrowserTasks::watchdog(void*) {
  BrowserTasks* t = g_tasks;
  if (!t) return;
  t->watchdog_timer_ = 0;
  if (!t->batch_ || t->running_.empty()) return;
  if (emscripten_get_now() < t->deadline()) return t->arm_watchdog();
  js_kernel_stop();
  const double s = static_cast<double>(t->timeout_ms_) / 1000;
  t->end_slice(t->started_ ? fmt::format("timeout: still running after {:g} s", s)
                           : fmt::format("timeout: the kernel's Web Worker did not start in {:g} s",
                                         s + kStartMs / 1000));
}

void BrowserTasks::finish(int64_t id, bool ok, const std::string& bytes, double ms) {
  count(ok);
  sandbox::Outcome out;
  out.id = static_cast<uint64_t>(id);
  out.ok = ok;
  (ok ? out.output : out.error) = bytes;
  out.ms = ms;
  done_fn_(std::move(out));
}

}  // namespace w::worker

// Entry points for www/worker.js: the inner worker's results.
extern "C" {
EMSCRIPTEN_KEEPALIVE void w_browser_task_done(int batch, double id, int ok, size_t n, double ms,
                                              int end) {
  std::string bytes(n, '\0');
  if (n) js_take_pending(reinterpret_cast<uint8_t*>(bytes.data()));
  if (w::worker::g_tasks)
    w::worker::g_tasks->on_result(batch, static_cast<int64_t>(id), ok != 0, bytes, ms, end != 0);
}
EMSCRIPTEN_KEEPALIVE void w_browser_slice_started(int batch) {
  if (w::worker::g_tasks) w::worker::g_tasks->on_started(batch);
}
EMSCRIPTEN_KEEPALIVE void w_browser_kernel_failed(const char* why) {
  if (w::worker::g_tasks) w::worker::g_tasks->on_kernel_failed(why);
}
}
