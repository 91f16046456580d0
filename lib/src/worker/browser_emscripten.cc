// The browser worker (wrun.wasm): one pool slot per Web Worker.
//
// The same conversation as wrun's pool mode: the one worker Session
// (session.h), driven here by WebSocket events (every one runs pump(),
// which hands what arrived to the session) and a timer for what the
// session holds back (results, checkpoints, heartbeats). This file is the
// session's host and its Runner: ordinary tasks go to BrowserTasks,
// members to BrowserMembers. The kernel is a separate standalone .wasm
// that the JavaScript glue compiles here (www/wkit_host.js) and runs in an
// inner Web Worker (www/kernel_worker.js, www/kernel.js); browser_host.h
// is the whole interface to it, and bytes are copied across.
//
// Ordinary tasks and their watchdog are BrowserTasks' (tasks_emscripten.h):
// a task past the campaign's timeout fails with "timeout: ..." and the
// kernel's Web Worker is replaced, while this thread and the pool
// connection carry on. A kernel output that would not fit in a message
// under the pool's max_frame (welcome) fails its task with "result larger
// than ...", as in native wrun: sent, it would close the connection and
// come back without an attempt, for ever.
//
// Pause hands back the tasks not yet started (bye) and closes; resume
// connects again, so the pool never leases tasks to a paused worker. A
// lost connection reconnects with exponential backoff and jitter.
//
// Members of coupled tasks (items with `group`) go to BrowserMembers
// (members_emscripten.h): their kernel runs in an inner Web Worker and they
// talk to the other members through the welcome's `sig` (wsig's relay).
//
// REQUIRES: everything runs on the Web Worker's one thread.
#include <emscripten.h>
#include <emscripten/eventloop.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../net/client_emscripten.h"
#include "../proto/worker_messages.h"
#include "browser_host.h"
#include "members_emscripten.h"
#include "session.h"
#include "tasks_emscripten.h"
#include "w/diag.h"
#include "w/net_client.h"

namespace w::worker {
namespace {

// `text` as the inside of a JSON string (the status line's detail holds
// error messages, which may hold quotes).
std::string json_text(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\')
      out += {'\\', c};
    else if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\u{:04x}", c);
    else
      out += c;
  }
  return out;
}

// This browser's Dhrystones/s (www/bench.js runs wbench.wasm before the
// workers start), sent in every hello; 0 if it could not be measured.
double g_score = 0;

// The session's frames on the browser's WebSocket (net/client_emscripten).
class SocketTransport : public Transport {
 public:
  void reset(std::unique_ptr<net::Client> client) { client_ = std::move(client); }
  net::Client* client() const { return client_.get(); }
  Status send(std::string_view frame) override {
    if (!client_) return Status::Io("not connected");
    return client_->send(std::string(frame), true);
  }
  // The browser writes what was sent before the close frame.
  void close() override {
    if (client_) client_->close();
  }

 private:
  std::unique_ptr<net::Client> client_;
};

class BrowserWorker : public Runner {
 public:
  BrowserWorker(std::string pool, std::string name, std::string key, int throttle, int memory_mb,
                std::string worker_key)
      : pool_(std::move(pool)),
        name_(std::move(name)),
        key_(std::move(key)),
        worker_key_(std::move(worker_key)),
        memory_mb_(memory_mb),
        tasks_([this](sandbox::Outcome out) { outcome(std::move(out)); },
               [this] { report(busy() ? "working" : "idle"); }),
        members_([this](sandbox::Outcome out) {
          tasks_.count(out.ok);
          outcome(std::move(out));
          report(busy() ? "working" : "idle");
        }) {
    tasks_.set_throttle(throttle);
  }

  void connect();
  void pause();
  void resume();
  void set_throttle(int percent) { tasks_.set_throttle(std::clamp(percent, 1, 100)); }

  // Runner
  void welcome(const std::string& sig, size_t max_output) override;
  bool has_kernel(const std::string& sha) override;
  void set_campaign(const Kernel& kernel) override;
  Status load(std::string_view artifact) override;
  void submit(sandbox::Task task, const std::vector<int>& browsers) override;
  void abort_group(const std::string& group, const std::string& why) override;
  std::vector<int64_t> hand_back() override;
  size_t in_flight() const override;

 private:
  void pump();
  bool busy() const { return tasks_.busy() || members_.busy(); }
  void outcome(sandbox::Outcome out);
  /// Checks the session's last step; a failure ends the connection.
  void check(const Status& s);
  void tick();
  void schedule_tick();
  void lost(const std::string& why);
  void drop_tasks();
  void report(const std::string& state, const std::string& detail = "");

  std::string pool_, name_, key_;
  std::string worker_key_;  // the browser's identity (volunteer.js keeps it in localStorage)
  int memory_mb_;           // the kernel's memory cap (kernel.js enforces it), sent in hello
  SocketTransport transport_;
  std::unique_ptr<Session> session_;  // one per connection
  std::string id_;
  bool welcomed_ = false, paused_ = false;
  net::RetrySchedule backoff_{0.2, 30};  // seconds
  long tick_timer_ = 0;                  // the armed tick's timeout id (0: none)
  double tick_at_ = 0;                   // when it fires
  BrowserTasks tasks_;                   // ordinary tasks, under the watchdog
  BrowserMembers members_;               // coupled tasks' members
};

void BrowserWorker::report(const std::string& state, const std::string& detail) {
  const std::string campaign = session_ ? session_->kernel().name : "";
  js_status(fmt::format("{{\"state\":\"{}\",\"id\":\"{}\",\"campaign\":\"{}\",\"done\":{},"
                        "\"failed\":{},\"queued\":{},\"detail\":\"{}\"}}",
                        state, json_text(id_), json_text(campaign), tasks_.done(), tasks_.failed(),
                        tasks_.queued(), json_text(detail.substr(0, 200)))
                .c_str());
}

void BrowserWorker::connect() {
  welcomed_ = false;
  drop_tasks();
  session_.reset();
  report("connecting");
  auto c = net::Client::connect(pool_ + "/worker", net::ClientOptions{});
  if (!c.ok()) return lost(c.status().message());
  transport_.reset(std::move(*c));
  net::set_client_activity_hook([this] { pump(); });
  SessionConfig config;
  proto::WorkerHello& hello = config.hello;
  hello.name = name_;  // no id: the pool names each tab's worker
  hello.platform = "wasm32";
  hello.slots = 1;
  hello.memory_mb = memory_mb_;
  hello.score = g_score;
  hello.coupled = js_coupled() != 0;
  hello.version = W_VERSION;
  hello.key = key_;
  hello.worker_key = worker_key_;
  config.now_ms = [] { return emscripten_get_now(); };
  // A browser knows no load average; its memory is this module's wasm
  // memory plus the JS heap where the browser tells it.
  config.heartbeat = [] {
    proto::Heartbeat beat;
    beat.rss = static_cast<int64_t>(__builtin_wasm_memory_size(0)) * 65536 +
               static_cast<int64_t>(js_heap_bytes());
    return beat;
  };
  session_ = std::make_unique<Session>(std::move(config), transport_, *this);
  check(session_->start());
}

// The pool requeues our leases when the socket closes: what we hold, run
// or have not sent yet is dropped, and a running kernel stopped.
void BrowserWorker::drop_tasks() {
  tasks_.clear();
  members_.clear();
}

void BrowserWorker::lost(const std::string& why) {
  session_.reset();
  transport_.reset(nullptr);
  drop_tasks();
  if (paused_) return report("paused");
  const double delay = backoff_.next(emscripten_random());
  report("disconnected", fmt::format("{}; retrying in {:.1f} s", why, delay));
  emscripten_set_timeout([](void* self) { static_cast<BrowserWorker*>(self)->connect(); },
                         delay * 1000, this);
}

void BrowserWorker::check(const Status& s) {
  if (s.ok()) return schedule_tick();
  if (s.code() == Code::kDenied) {
    paused_ = true;  // refused (wrong key, version): retrying would not help
    lost(s.message());
    return report("refused", s.message());
  }
  lost(s.message());
}

void BrowserWorker::pump() {
  members_.pump();  // the hook is global: wsig's relay links land here too
  net::Message msg;
  while (session_ && transport_.client() && transport_.client()->try_receive(msg)) {
    check(session_->on_message(msg.data));
    if (session_ && session_->welcomed() && !welcomed_) {
      welcomed_ = true;
      backoff_.reset();
      id_ = session_->welcome().id;
      report("idle");
    }
    // The pool's drain: as a pause, the worker stays away until resumed.
    if (session_ && session_->finished()) return pause();
  }
  if (session_ && transport_.client() && transport_.client()->closed())
    lost("pool connection closed: " + transport_.client()->close_reason());
}

void BrowserWorker::outcome(sandbox::Outcome out) {
  if (!session_) return;              // the connection is gone: the pool re-queues the task
  sink_->on_outcome(std::move(out));  // the session's (Runner::bind)
  schedule_tick();
}

void BrowserWorker::tick() {
  if (!session_) return;
  check(session_->tick());
}

// One timer at a time, set for when the session next has something due;
// an earlier need (a result that goes at once) sets it again.
void BrowserWorker::schedule_tick() {
  if (!session_ || session_->finished()) return;
  const double at = emscripten_get_now() + session_->wait_ms();
  if (tick_timer_ && tick_at_ <= at) return;
  if (tick_timer_) emscripten_clear_timeout(tick_timer_);
  tick_at_ = at;
  tick_timer_ = emscripten_set_timeout(
      [](void* self) {
        auto* w = static_cast<BrowserWorker*>(self);
        w->tick_timer_ = 0;
        w->tick();
      },
      at - emscripten_get_now(), this);
}

void BrowserWorker::welcome(const std::string& sig, size_t max_output) {
  js_set_max_output(static_cast<double>(max_output));
  members_.set_sig(sig);
}

bool BrowserWorker::has_kernel(const std::string& sha) {
  if (js_kernel_cached(sha.c_str())) return true;
  report("fetching", sha.substr(0, 12));
  return false;
}

void BrowserWorker::set_campaign(const Kernel& kernel) {
  tasks_.set_timeout(kernel.timeout_ms);
  members_.set_timeout(kernel.timeout_ms);
  tasks_.set_kernel(false);
  members_.set_kernel(false);
}

Status BrowserWorker::load(std::string_view wasm) {
  const Kernel& k = session_->kernel();
  char* err =
      js_kernel_use(k.sha.c_str(), reinterpret_cast<const uint8_t*>(wasm.data()), wasm.size(),
                    reinterpret_cast<const uint8_t*>(k.static_data.data()), k.static_data.size());
  std::string why(err);
  free(err);
  if (!why.empty()) {
    // A kernel that cannot load here fails every task we hold, with the reason.
    tasks_.set_kernel(false, why);
    members_.set_kernel(false, why);
    report("idle", why);
    return {};
  }
  tasks_.set_kernel(true);
  members_.set_kernel(true);
  return {};
}

void BrowserWorker::submit(sandbox::Task t, const std::vector<int>& ranks) {
  if (!t.member()) return tasks_.add(static_cast<int64_t>(t.id), std::move(t.input));
  // The ranks on browsers, which open DataChannels to each other.
  std::set<int> browsers;
  for (int r : ranks)
    if (r != t.rank) browsers.insert(r);
  members_.submit(static_cast<int64_t>(t.id), t.group, t.rank, t.size, std::move(t.input),
                  std::move(browsers));
  report("working");
}

void BrowserWorker::abort_group(const std::string& group, const std::string&) {
  members_.abort(group);
  report(busy() ? "working" : "idle");
}

// A pause hands back everything not finished: the running tasks are
// stopped with the kernel's Web Worker, and members' runs end without an
// attempt.
std::vector<int64_t> BrowserWorker::hand_back() {
  std::vector<int64_t> ids = tasks_.held();
  for (int64_t id : members_.held()) ids.push_back(id);
  drop_tasks();
  return ids;
}

size_t BrowserWorker::in_flight() const {
  return tasks_.queued() + members_.held().size();
}

void BrowserWorker::pause() {
  if (paused_) return;
  paused_ = true;
  // The pool's drain and the page's pause end the same way: what finished,
  // then the bye, then the close (session.h).
  if (session_ && !session_->finished()) {
    Status s = session_->drain();
    if (!s.ok()) diag::warning("{}", s.message());
  }
  drop_tasks();
  session_.reset();
  transport_.reset(nullptr);
  report("paused");
}

void BrowserWorker::resume() {
  if (!paused_) return;
  paused_ = false;
  backoff_.reset();
  connect();
}

BrowserWorker* g_worker = nullptr;  // one per Web Worker, never freed

}  // namespace
}  // namespace w::worker

// Entry points for www/worker.js (browser_host.h).
extern "C" {
EMSCRIPTEN_KEEPALIVE void w_browser_start(const char* pool, const char* name, const char* key,
                                          int throttle, double score, int memory_mb,
                                          const char* worker_key) {
  if (w::worker::g_worker) return;
  w::worker::g_score = score > 0 ? score : 0;
  w::worker::g_worker =
      new w::worker::BrowserWorker(pool, name, key, throttle, memory_mb, worker_key);
  w::worker::g_worker->connect();
}
EMSCRIPTEN_KEEPALIVE void w_browser_pause() {
  if (w::worker::g_worker) w::worker::g_worker->pause();
}
EMSCRIPTEN_KEEPALIVE void w_browser_resume() {
  if (w::worker::g_worker) w::worker::g_worker->resume();
}
EMSCRIPTEN_KEEPALIVE void w_browser_throttle(int percent) {
  if (w::worker::g_worker) w::worker::g_worker->set_throttle(percent);
}
}
