// The browser worker (wrun.wasm): one pool slot per Web Worker.
//
// The same conversation as wrun's pool mode (w-protocol(7)), event-driven
// because a browser cannot block: every WebSocket event runs pump(), which
// handles what arrived. The kernel is a separate standalone .wasm that the
// JavaScript glue compiles here (www/worker.js) and runs in an inner Web
// Worker (www/kernel_worker.js, www/kernel.js); the js_* functions below are
// the whole interface to it, and bytes are copied across.
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
#include "members_emscripten.h"
#include "tasks_emscripten.h"
#include "w/msgpack.h"
#include "w/net_client.h"
#include "w/sha256.h"

// The JavaScript side (www/worker.js defines self.wkitHost).
// clang-format off (C++ formatting would split JavaScript operators)
EM_JS(int, js_kernel_cached, (const char* sha),
      { return self.wkitHost.hasKernel(UTF8ToString(sha)) ? 1 : 0; });
// Selects (and, with bytes, first compiles) the kernel; "" or the error.
EM_JS(char*, js_kernel_use,
      (const char* sha, const uint8_t* wasm, size_t wasm_n, const uint8_t* stat, size_t stat_n), {
        const err = self.wkitHost.useKernel(UTF8ToString(sha),
                                            wasm_n ? HEAPU8.slice(wasm, wasm + wasm_n) : null,
                                            HEAPU8.slice(stat, stat + stat_n));
        const n = lengthBytesUTF8(err) + 1;
        const p = _malloc(n);
        stringToUTF8(err, p, n);
        return p;
      });
EM_JS(void, js_status, (const char* json), { self.wkitHost.status(UTF8ToString(json)); });
// The largest kernel output a result may carry: a larger one fails its task.
// The JS heap in use where the browser tells it (Chromium's
// performance.memory), else 0: a page cannot see its process's memory.
EM_JS(double, js_heap_bytes, (), {
  const m = self.performance && self.performance.memory;
  return m ? m.usedJSHeapSize : 0;
});

EM_JS(void, js_set_max_output, (double bytes), { self.wkitHost.setMaxOutput(bytes); });
// Members of coupled tasks need SharedArrayBuffer (www/worker.js): a page
// that is not cross-origin isolated tells the pool so in its hello.
EM_JS(int, js_coupled, (), { return self.crossOriginIsolated && self.SharedArrayBuffer ? 1 : 0; });
// clang-format on

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

// Room in a results message for everything but the items' outputs.
constexpr size_t kEnvelope = 64 * 1024;

// This browser's Dhrystones/s (www/bench.js runs wbench.wasm before the
// workers start), sent in every hello; 0 if it could not be measured.
double g_score = 0;

class BrowserWorker {
 public:
  BrowserWorker(std::string pool, std::string name, std::string key, int throttle, int memory_mb,
                std::string worker_key)
      : pool_(std::move(pool)),
        name_(std::move(name)),
        key_(std::move(key)),
        worker_key_(std::move(worker_key)),
        memory_mb_(memory_mb),
        tasks_([this](const std::vector<std::string>& items) { send_results(items); },
               [this] { report(busy() ? "working" : "idle"); }),
        members_([this](std::string item, bool ok) {
          tasks_.count(ok);
          send_results({std::move(item)});
          report(busy() ? "working" : "idle");
        }) {
    tasks_.set_throttle(throttle);
  }

  void connect();
  void pause();
  void resume();
  void set_throttle(int percent) { tasks_.set_throttle(std::clamp(percent, 1, 100)); }

 private:
  void pump();
  void handle(const std::string& data);
  void on_campaign(const proto::CampaignBind& m);
  void on_artifact(const proto::Artifact& m);
  void on_tasks(const proto::Tasks& m);
  void use_kernel(const std::string& wasm);
  bool busy() const { return tasks_.busy() || members_.busy(); }
  void send_results(const std::vector<std::string>& items);
  void send(const std::string& message);
  void lost(const std::string& why);
  void drop_tasks();
  void report(const std::string& state, const std::string& detail = "");
  static void heartbeat(void* self);

  std::string pool_, name_, key_;
  std::string worker_key_;  // the browser's identity (volunteer.js keeps it in localStorage)
  int memory_mb_;           // the kernel's memory cap (kernel.js enforces it), sent in hello
  std::unique_ptr<net::Client> client_;
  std::string id_, state_ = "connecting";
  bool welcomed_ = false, paused_ = false;
  int64_t campaign_ = 0;
  std::string campaign_name_, kernel_sha_, static_;
  int heartbeat_ms_ = 5000;
  size_t max_frame_ = 16u << 20;  // the pool's largest message (welcome's max_frame)
  double last_sent_ = 0, last_beat_ = 0, backoff_ms_ = 200;
  long heartbeat_timer_ = 0;
  BrowserTasks tasks_;      // ordinary tasks, under the watchdog
  BrowserMembers members_;  // coupled tasks' members
};

void BrowserWorker::report(const std::string& state, const std::string& detail) {
  state_ = state;
  js_status(fmt::format("{{\"state\":\"{}\",\"id\":\"{}\",\"campaign\":\"{}\",\"done\":{},"
                        "\"failed\":{},\"queued\":{},\"detail\":\"{}\"}}",
                        state, json_text(id_), json_text(campaign_name_), tasks_.done(),
                        tasks_.failed(), tasks_.queued(), json_text(detail.substr(0, 200)))
                .c_str());
}

void BrowserWorker::connect() {
  welcomed_ = false;
  campaign_ = 0;
  drop_tasks();
  report("connecting");
  auto c = net::Client::connect(pool_ + "/worker", net::ClientOptions{});
  if (!c.ok()) return lost(c.status().message());
  client_ = std::move(*c);
  net::set_client_activity_hook([this] { pump(); });
  proto::WorkerHello hello;
  hello.v = proto::kProtocolVersion;
  hello.name = name_;  // no id: the pool names each tab's worker
  hello.platform = "wasm32";
  hello.slots = 1;
  hello.memory_mb = memory_mb_;
  hello.score = g_score;
  hello.coupled = js_coupled() != 0;
  hello.version = W_VERSION;
  hello.key = key_;
  hello.worker_key = worker_key_;
  send(proto::encode(hello));
  if (!heartbeat_timer_) heartbeat_timer_ = emscripten_set_interval(heartbeat, 1000, this);
}

void BrowserWorker::send(const std::string& message) {
  if (!client_) return;
  last_sent_ = emscripten_get_now();
  Status s = client_->send(message, true);
  if (!s.ok()) lost(s.message());
}

void BrowserWorker::heartbeat(void* self) {
  auto* w = static_cast<BrowserWorker*>(self);
  if (!w->client_ || !w->welcomed_ || emscripten_get_now() - w->last_beat_ <= w->heartbeat_ms_)
    return;
  // A browser knows no load average; its memory is this module's wasm
  // memory plus the JS heap where the browser tells it.
  proto::Heartbeat beat;
  beat.rss = static_cast<int64_t>(__builtin_wasm_memory_size(0)) * 65536 +
             static_cast<int64_t>(js_heap_bytes());
  w->last_beat_ = emscripten_get_now();
  w->send(proto::encode(beat));
}

// The pool requeues our leases when the socket closes: what we hold, run
// or have not sent yet is dropped, and a running kernel stopped.
void BrowserWorker::drop_tasks() {
  tasks_.clear();
  members_.clear();
}

void BrowserWorker::lost(const std::string& why) {
  client_.reset();
  drop_tasks();
  if (paused_) return report("paused");
  const double jitter = 0.5 + emscripten_random();
  const double delay = backoff_ms_ * jitter;
  backoff_ms_ = std::min(backoff_ms_ * 2, 30000.0);
  report("disconnected", fmt::format("{}; retrying in {:.1f} s", why, delay / 1000));
  emscripten_set_timeout([](void* self) { static_cast<BrowserWorker*>(self)->connect(); }, delay,
                         this);
}

void BrowserWorker::pump() {
  members_.pump();  // the hook is global: wsig's relay links land here too
  if (!client_) return;
  net::Message msg;
  while (client_ && client_->try_receive(msg)) handle(msg.data);
  if (client_ && client_->closed()) lost("pool connection closed: " + client_->close_reason());
}

void BrowserWorker::handle(const std::string& data) {
  auto m = proto::decode_to_worker(data);
  if (!m.ok()) return lost("malformed message from the pool: " + m.status().message());
  if (auto* welcome = std::get_if<proto::Welcome>(&*m)) {
    welcomed_ = true;
    // The pool's largest message (a pool before the field took 16 MiB).
    max_frame_ =
        welcome->max_frame > 0 ? static_cast<size_t>(welcome->max_frame) : size_t{16} << 20;
    js_set_max_output(static_cast<double>(max_frame_ - kEnvelope));
    backoff_ms_ = 200;
    id_ = welcome->id;
    heartbeat_ms_ = static_cast<int>(welcome->heartbeat_ms);
    members_.set_sig(welcome->sig);
    report("idle");
  } else if (auto* campaign = std::get_if<proto::CampaignBind>(&*m)) {
    on_campaign(*campaign);
  } else if (auto* artifact = std::get_if<proto::Artifact>(&*m)) {
    on_artifact(*artifact);
  } else if (auto* tasks = std::get_if<proto::Tasks>(&*m)) {
    on_tasks(*tasks);
  } else if (auto* abort = std::get_if<proto::Abort>(&*m)) {
    members_.abort(abort->group);
    report(busy() ? "working" : "idle");
  } else if (auto* error = std::get_if<proto::Error>(&*m)) {
    paused_ = true;  // refused (wrong key, version): retrying would not help
    const std::string why = error->message;
    lost(why);
    report("refused", why);
  } else if (std::holds_alternative<proto::Drain>(*m)) {
    pause();
  }
}

void BrowserWorker::on_tasks(const proto::Tasks& m) {
  // proto/ checked every item (a member's rank is below its size >= 2).
  for (const proto::TaskItem& t : m.items) {
    if (!t.member()) {
      tasks_.add(t.id, std::string(t.input));
      continue;
    }
    // The ranks on browsers, which open DataChannels to each other.
    std::set<int> browsers;
    for (int r : t.browsers)
      if (r != t.rank) browsers.insert(r);
    members_.submit(t.id, t.group, t.rank, t.size, std::string(t.input), std::move(browsers));
    report("working");
  }
}

void BrowserWorker::on_campaign(const proto::CampaignBind& m) {
  campaign_ = m.campaign;
  campaign_name_ = m.name;
  tasks_.set_timeout(m.timeout_ms);
  members_.set_timeout(m.timeout_ms);
  kernel_sha_ = m.kernel;  // a sha256 (proto/ checked)
  static_ = std::string(m.static_data);
  tasks_.set_kernel(false);
  members_.set_kernel(false);
  if (js_kernel_cached(kernel_sha_.c_str())) return use_kernel("");
  send(proto::encode(proto::Fetch{kernel_sha_}));
  report("fetching", kernel_sha_.substr(0, 12));
}

void BrowserWorker::on_artifact(const proto::Artifact& m) {
  const std::string data(m.data);
  if (sha256_hex(data) != kernel_sha_)
    return lost(fmt::format("kernel artifact does not match its sha256 {}", kernel_sha_));
  use_kernel(data);
}

void BrowserWorker::use_kernel(const std::string& wasm) {
  char* err =
      js_kernel_use(kernel_sha_.c_str(), reinterpret_cast<const uint8_t*>(wasm.data()), wasm.size(),
                    reinterpret_cast<const uint8_t*>(static_.data()), static_.size());
  std::string why(err);
  free(err);
  if (!why.empty()) {
    // A kernel that cannot load here fails every task we hold, with the reason.
    tasks_.set_kernel(false, why);
    members_.set_kernel(false, why);
    return report("idle", why);
  }
  tasks_.set_kernel(true);
  members_.set_kernel(true);
}

// As many messages as it takes to keep each under the pool's max_frame
// (an item is never larger: worker.js fails a task whose output is).
void BrowserWorker::send_results(const std::vector<std::string>& items) {
  std::vector<std::string> batch;
  size_t bytes = 0;
  for (const std::string& item : items) {
    if (!batch.empty() && bytes + item.size() + kEnvelope > max_frame_) {
      send(proto::encode_results(batch));
      batch.clear();
      bytes = 0;
    }
    bytes += item.size();
    batch.push_back(item);
  }
  if (!batch.empty()) send(proto::encode_results(batch));
}

void BrowserWorker::pause() {
  if (paused_) return;
  paused_ = true;
  if (client_ && welcomed_) {
    tasks_.flush();  // what finished goes before the bye
    // The running tasks are stopped with the kernel's Web Worker, and
    // members' runs end without an attempt.
    proto::Bye bye;
    bye.returned = tasks_.held();
    for (int64_t id : members_.held()) bye.returned.push_back(id);
    send(proto::encode(bye));
  }
  drop_tasks();
  if (client_) client_->close();  // the browser writes the bye before the close frame
  client_.reset();
  report("paused");
}

void BrowserWorker::resume() {
  if (!paused_) return;
  paused_ = false;
  backoff_ms_ = 200;
  connect();
}

BrowserWorker* g_worker = nullptr;  // one per Web Worker, never freed

}  // namespace
}  // namespace w::worker

// Entry points for www/worker.js.
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
