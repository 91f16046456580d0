// The browser worker (wrun.wasm): one pool slot per Web Worker.
//
// The same conversation as wrun's pool mode (w-protocol(7)), event-driven
// because a browser cannot block: every WebSocket event runs pump(), which
// handles what arrived; tasks run one at a time from a timer so commands
// from the page (pause, throttle) get in between. The kernel is a separate
// standalone .wasm, compiled and instantiated by the JavaScript glue in this
// same Web Worker (www/worker.js, www/kernel.js); the js_* functions below
// are the whole interface to it, and bytes are copied across.
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
#include <cmath>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../net/client_emscripten.h"
#include "../proto/worker_messages.h"
#include "members_emscripten.h"
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
// Runs one task: 0 with *out = the output, or 1 with *out = the error text.
EM_JS(int, js_kernel_run, (const uint8_t* input, size_t n, uint8_t** out, size_t* out_n), {
  const r = self.wkitHost.run(HEAPU8.slice(input, input + n));
  const bytes = 'error' in r ? new TextEncoder().encode(r.error) : r.output;
  const p = _malloc(Math.max(1, bytes.length));
  HEAPU8.set(bytes, p);
  HEAPU32[out >> 2] = p;
  HEAPU32[out_n >> 2] = bytes.length;
  return 'error' in r ? 1 : 0;
});
EM_JS(void, js_status, (const char* json), { self.wkitHost.status(UTF8ToString(json)); });
// Members of coupled tasks need SharedArrayBuffer (www/worker.js): a page
// that is not cross-origin isolated tells the pool so in its hello.
EM_JS(int, js_coupled, (), { return self.crossOriginIsolated && self.SharedArrayBuffer ? 1 : 0; });
// clang-format on

namespace w::worker {
namespace {

struct Task {
  int64_t id;
  std::string input;
};

// This browser's Dhrystones/s (www/bench.js runs wbench.wasm before the
// workers start), sent in every hello; 0 if it could not be measured.
double g_score = 0;

class BrowserWorker {
 public:
  BrowserWorker(std::string pool, std::string name, std::string key, int throttle)
      : pool_(std::move(pool)),
        name_(std::move(name)),
        key_(std::move(key)),
        throttle_(throttle),
        members_([this](std::string item, bool ok) {
          ++(ok ? done_ : failed_);
          send_results({std::move(item)});
          report(members_.busy() ? "working" : "idle");
        }) {}

  void connect();
  void pause();
  void resume();
  void set_throttle(int percent) { throttle_ = std::clamp(percent, 1, 100); }

 private:
  void pump();
  void handle(const std::string& data);
  void on_tasks(const proto::Tasks& m);
  void on_campaign(const proto::CampaignBind& m);
  void on_artifact(const proto::Artifact& m);
  void use_kernel(const std::string& wasm);
  void schedule_run(double delay_ms);
  void run_batch();
  static std::string result_item(int64_t task, bool ok, const std::string& bytes, double ms);
  void send_results(const std::vector<std::string>& items);
  void send(const std::string& message);
  void lost(const std::string& why);
  void report(const std::string& state, const std::string& detail = "");
  static void heartbeat(void* self);

  std::string pool_, name_, key_;
  int throttle_ = 100;  // percent of one core
  std::unique_ptr<net::Client> client_;
  std::string id_, state_ = "connecting";
  bool welcomed_ = false, paused_ = false, run_scheduled_ = false, kernel_ready_ = false;
  int64_t campaign_ = 0;
  std::string campaign_name_, kernel_sha_, static_;
  std::deque<Task> waiting_;
  int heartbeat_ms_ = 5000;
  double last_sent_ = 0, backoff_ms_ = 200;
  long heartbeat_timer_ = 0;
  int64_t done_ = 0, failed_ = 0;
  BrowserMembers members_;  // coupled tasks' members
};

void BrowserWorker::report(const std::string& state, const std::string& detail) {
  state_ = state;
  js_status(fmt::format("{{\"state\":\"{}\",\"id\":\"{}\",\"campaign\":\"{}\",\"done\":{},"
                        "\"failed\":{},\"queued\":{},\"detail\":\"{}\"}}",
                        state, id_, campaign_name_, done_, failed_, waiting_.size(),
                        detail.substr(0, 200))
                .c_str());
}

void BrowserWorker::connect() {
  welcomed_ = false;
  kernel_ready_ = false;
  campaign_ = 0;
  waiting_.clear();
  members_.clear();
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
  hello.memory_mb = 2048;
  hello.score = g_score;
  hello.coupled = js_coupled() != 0;
  hello.version = W_VERSION;
  hello.key = key_;
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
  if (w->client_ && w->welcomed_ && emscripten_get_now() - w->last_sent_ > w->heartbeat_ms_)
    w->send(proto::encode(proto::Heartbeat{}));
}

void BrowserWorker::lost(const std::string& why) {
  client_.reset();
  waiting_.clear();  // the pool requeues our leases when the socket closes
  members_.clear();
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
    report(members_.busy() ? "working" : "idle");
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
      waiting_.push_back({t.id, std::string(t.input)});
      continue;
    }
    // The ranks on browsers, which open DataChannels to each other.
    std::set<int> browsers;
    for (int r : t.browsers)
      if (r != t.rank) browsers.insert(r);
    members_.submit(t.id, t.group, t.rank, t.size, std::string(t.input), std::move(browsers));
    report("working");
  }
  schedule_run(0);
}

void BrowserWorker::on_campaign(const proto::CampaignBind& m) {
  campaign_ = m.campaign;
  campaign_name_ = m.name;
  kernel_sha_ = m.kernel;
  static_ = std::string(m.static_data);
  kernel_ready_ = false;
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
    std::vector<std::string> items;
    for (const Task& t : waiting_) items.push_back(result_item(t.id, false, why, 0));
    waiting_.clear();
    send_results(items);
    members_.set_kernel(false, why);
    return report("idle", why);
  }
  kernel_ready_ = true;
  members_.set_kernel(true);
  schedule_run(0);
}

void BrowserWorker::schedule_run(double delay_ms) {
  if (run_scheduled_ || paused_ || !kernel_ready_ || waiting_.empty()) return;
  run_scheduled_ = true;
  emscripten_set_timeout(
      [](void* self) {
        auto* w = static_cast<BrowserWorker*>(self);
        w->run_scheduled_ = false;
        w->run_batch();
      },
      delay_ms, this);
}

// Runs tasks for up to kBatchMs, then yields to the event loop: one timer
// per task would cost the browser's 4 ms clamp on nested timeouts each.
// What finished in the batch goes back in one results message.
void BrowserWorker::run_batch() {
  constexpr double kBatchMs = 20;
  if (paused_ || !kernel_ready_ || waiting_.empty() || !client_) return;
  report("working");
  std::vector<std::string> items;
  const double start = emscripten_get_now();
  while (!waiting_.empty() && emscripten_get_now() - start < kBatchMs) {
    Task task = std::move(waiting_.front());
    waiting_.pop_front();
    const double t0 = emscripten_get_now();
    uint8_t* out = nullptr;
    size_t out_n = 0;
    const int rc = js_kernel_run(reinterpret_cast<const uint8_t*>(task.input.data()),
                                 task.input.size(), &out, &out_n);
    const double ms = emscripten_get_now() - t0;
    items.push_back(
        result_item(task.id, rc == 0, std::string(reinterpret_cast<char*>(out), out_n), ms));
    free(out);
    ++(rc == 0 ? done_ : failed_);
  }
  const double worked = emscripten_get_now() - start;
  send_results(items);
  report(waiting_.empty() ? "idle" : "working");
  // The throttle: at p% the worker rests (100/p - 1) times as long as it worked.
  schedule_run(worked * (100.0 / throttle_ - 1.0));
}

// One result item, encoded on its own: members_ (members_emscripten.h)
// hands over its members' results this way too.
std::string BrowserWorker::result_item(int64_t task, bool ok, const std::string& bytes, double ms) {
  proto::ResultItem item;
  item.task = task;
  item.ms = std::round(ms * 1000) / 1000;
  item.ok = ok;
  if (ok)
    item.output = bytes;  // one msgpack object, or the encoder makes it an error
  else
    item.error = bytes;
  return proto::encode_result_item(item);
}

void BrowserWorker::send_results(const std::vector<std::string>& items) {
  if (items.empty()) return;
  send(proto::encode_results(items));
}

void BrowserWorker::pause() {
  if (paused_) return;
  paused_ = true;
  if (client_ && welcomed_) {
    proto::Bye bye;
    for (const Task& t : waiting_) bye.returned.push_back(t.id);
    for (int64_t id : members_.held()) bye.returned.push_back(id);  // runs end without an attempt
    send(proto::encode(bye));
  }
  waiting_.clear();
  members_.clear();
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
                                          int throttle, double score) {
  if (w::worker::g_worker) return;
  w::worker::g_score = score > 0 ? score : 0;
  w::worker::g_worker = new w::worker::BrowserWorker(pool, name, key, throttle);
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
