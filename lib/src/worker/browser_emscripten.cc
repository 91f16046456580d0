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
#include "members_emscripten.h"
#include "tasks_emscripten.h"
#include "w/msgpack.h"
#include "w/net_client.h"
#include "w/pool.h"
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
  BrowserWorker(std::string pool, std::string name, std::string key, int throttle, int memory_mb)
      : pool_(std::move(pool)),
        name_(std::move(name)),
        key_(std::move(key)),
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
  void on_campaign(const mp::MapView& m);
  void on_artifact(const mp::MapView& m);
  void use_kernel(const std::string& wasm);
  bool busy() const { return tasks_.busy() || members_.busy(); }
  void send_results(const std::vector<std::string>& items);
  void send(const std::string& message);
  void lost(const std::string& why);
  void drop_tasks();
  void report(const std::string& state, const std::string& detail = "");
  static void heartbeat(void* self);

  std::string pool_, name_, key_;
  int memory_mb_;  // the kernel's memory cap (kernel.js enforces it), sent in hello
  std::unique_ptr<net::Client> client_;
  std::string id_, state_ = "connecting";
  bool welcomed_ = false, paused_ = false;
  int64_t campaign_ = 0;
  std::string campaign_name_, kernel_sha_, static_;
  int heartbeat_ms_ = 5000;
  size_t max_frame_ = 16u << 20;  // the pool's largest message (welcome's max_frame)
  double last_sent_ = 0, backoff_ms_ = 200;
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
  send(mp::MapBuilder()
           .str("t", "hello")
           .integer("v", pool::kProtocolVersion)
           .str("id", "")
           .str("name", name_)
           .str("platform", "wasm32")
           .integer("slots", 1)
           .integer("memory", memory_mb_)
           .real("score", g_score)
           .boolean("coupled", js_coupled() != 0)
           .str("version", W_VERSION)
           .str("key", key_)
           .done());
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
    w->send(mp::MapBuilder().str("t", "heartbeat").done());
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
  auto m = mp::MapView::parse(data);
  if (!m.ok()) return lost("malformed message from the pool");
  const std::string type = *m->string("t", "");
  if (type == "welcome") {
    welcomed_ = true;
    // The pool's largest message (absent before it was sent: its default).
    max_frame_ = static_cast<size_t>(
        std::clamp<int64_t>(*m->integer("max_frame", 16 << 20), 1 << 20, int64_t{1} << 32));
    js_set_max_output(static_cast<double>(max_frame_ - kEnvelope));
    backoff_ms_ = 200;
    id_ = *m->string("id", "");
    heartbeat_ms_ = static_cast<int>(*m->integer("heartbeat_ms", 5000));
    members_.set_sig(*m->string("sig", ""));
    report("idle");
  } else if (type == "campaign") {
    on_campaign(*m);
  } else if (type == "artifact") {
    on_artifact(*m);
  } else if (type == "tasks") {
    std::vector<std::string_view> items;
    if (!mp::decode_array(m->raw("items"), items)) return lost("tasks: bad items");
    for (auto raw : items) {
      auto t = mp::MapView::parse(raw);
      if (!t.ok()) return lost("tasks: bad item");
      if (t->has("group")) {
        const int rank = static_cast<int>(*t->integer("rank", 0));
        const int size = static_cast<int>(*t->integer("size", 0));
        std::string group = *t->string("group", "");
        if (group.empty() || size < 2 || rank < 0 || rank >= size)
          return lost("tasks: bad group member");
        // The ranks on browsers, which open DataChannels to each other.
        std::set<int> browsers;
        std::vector<std::string_view> ranks;
        if (t->has("browsers") && mp::decode_array(t->raw("browsers"), ranks))
          for (auto r : ranks)
            if (int64_t v; mp::decode_int(r, v) && v >= 0 && v < size && v != rank)
              browsers.insert(static_cast<int>(v));
        members_.submit(*t->integer("id"), std::move(group), rank, size,
                        std::string(t->raw("input")), std::move(browsers));
        report("working");
        continue;
      }
      tasks_.add(*t->integer("id"), std::string(t->raw("input")));
    }
  } else if (type == "abort") {
    members_.abort(*m->string("group", ""));
    report(busy() ? "working" : "idle");
  } else if (type == "error") {
    paused_ = true;  // refused (wrong key, version): retrying would not help
    lost(*m->string("message", "refused by the pool"));
    report("refused", *m->string("message", "refused by the pool"));
  } else if (type == "drain") {
    pause();
  }
}

void BrowserWorker::on_campaign(const mp::MapView& m) {
  campaign_ = *m.integer("campaign");
  campaign_name_ = *m.string("name", "");
  const int64_t timeout_ms = std::max<int64_t>(0, *m.integer("timeout_ms", 60000));
  tasks_.set_timeout(timeout_ms);
  members_.set_timeout(timeout_ms);
  kernel_sha_ = *m.string("kernel", "");
  static_ = std::string(m.raw("static"));
  if (static_ == "\xc0") static_.clear();
  tasks_.set_kernel(false);
  members_.set_kernel(false);
  if (js_kernel_cached(kernel_sha_.c_str())) return use_kernel("");
  send(mp::MapBuilder().str("t", "fetch").str("kernel", kernel_sha_).done());
  report("fetching", kernel_sha_.substr(0, 12));
}

void BrowserWorker::on_artifact(const mp::MapView& m) {
  auto data = m.bytes("data");
  if (!data.ok()) return lost("artifact without data");
  if (sha256_hex(*data) != kernel_sha_)
    return lost(fmt::format("kernel artifact does not match its sha256 {}", kernel_sha_));
  use_kernel(*data);
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
  std::string body;
  uint32_t count = 0;
  auto flush = [&] {
    if (count == 0) return;
    std::string all;
    mp::Packer(all).array(count);
    all += body;
    send(mp::MapBuilder().str("t", "results").raw("items", all).done());
    body.clear();
    count = 0;
  };
  for (const std::string& item : items) {
    if (body.size() + item.size() + kEnvelope > max_frame_) flush();
    body += item;
    ++count;
  }
  flush();
}

void BrowserWorker::pause() {
  if (paused_) return;
  paused_ = true;
  if (client_ && welcomed_) {
    tasks_.flush();  // what finished goes before the bye
    std::string ids;
    mp::Packer pk(ids);
    // The running tasks are stopped with the kernel's Web Worker, and
    // members' runs end without an attempt.
    std::vector<int64_t> held = tasks_.held();
    for (int64_t id : members_.held()) held.push_back(id);
    pk.array(static_cast<uint32_t>(held.size()));
    for (int64_t id : held) pk.integer(id);
    send(mp::MapBuilder().str("t", "bye").raw("returned", ids).done());
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
                                          int throttle, double score, int memory_mb) {
  if (w::worker::g_worker) return;
  w::worker::g_score = score > 0 ? score : 0;
  w::worker::g_worker = new w::worker::BrowserWorker(pool, name, key, throttle, memory_mb);
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
