// Pool mode: one connection to the pool, one sandbox::Executor per campaign.
//
// The loop polls the connection's notify fd and the executor's slots
// together. Tasks arrive in batches and wait in `waiting_` until the
// executor can take them (so tasks not yet started can be handed back on
// drain); finished tasks are batched into one "results" message per loop
// turn. When the pool goes away the executor is dropped (its leases expire
// on the pool) and the worker reconnects with exponential backoff + jitter.
//
// Checkpoints a running task saves are forwarded as "checkpoint" messages,
// at most one per task per kCheckpointInterval: a kernel that saves more
// often has only its latest state sent when the interval is up. A task's
// pending checkpoint is dropped once its result is in hand (the result
// supersedes it). A task item that carries "checkpoint" is resumed: the
// kernel gets those bytes as out->restore.
//
// Coupled campaigns: a task item with `group`, `rank` and `size` is one
// member of a group run. Members go to the executor at once (it starts them
// ahead of ordinary tasks, each alone on a slot); their messages to members
// on other workers travel through wsig's relay (RelayRouter, at the pool's
// `sig` or --sig). A member's result carries its rank and group. `abort`
// stops a run's members here without a result; a member that fails here
// stops its run's other members here too (the pool aborts the rest).
#include "w/pool_worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "../proto/worker_messages.h"
#include "host.h"
#include "relay.h"
#include "w/diag.h"
#include "w/executor.h"
#include "w/msgpack.h"
#include "w/net_client.h"
#include "w/sha256.h"

namespace w::worker {
namespace {

volatile std::sig_atomic_t g_signals = 0;
void on_signal(int) {
  g_signals = g_signals + 1;
}

using Clock = std::chrono::steady_clock;

constexpr auto kCheckpointInterval = std::chrono::milliseconds(100);
constexpr auto kResultHold = std::chrono::milliseconds(20);  // see results_due()
constexpr size_t kResultBatch = 4096;
// Room in a message for everything but the results' outputs: the envelope
// and each item's task, ms, group and error (errors are kept under 4 KiB).
constexpr size_t kEnvelope = size_t{64} * 1024;

class PoolSession {
 public:
  PoolSession(const PoolWorkerOptions& o, std::unique_ptr<net::Client> c, std::string cache,
              std::string sig, size_t max_frame)
      : o_(o),
        client_(std::move(c)),
        cache_(std::move(cache)),
        sig_(std::move(sig)),
        max_frame_(max_frame) {}

  /// Serves until the connection ends (error) or a drain completes (ok).
  Status run();

 private:
  Status send(const std::string& m) { return client_->send(m, true); }
  Status handle(const std::string& data);
  Status on_campaign(const proto::CampaignBind& m);
  Status on_artifact(const proto::Artifact& m);
  Status start_executor();
  /// Fails every waiting task with why the campaign's kernel cannot load.
  Status fail_waiting(const Status& why);
  void feed();
  Status send_results(std::vector<sandbox::Outcome>& done);
  /// Whether the results in `done` go now. Results of a busy worker wait up
  /// to kResultHold for company (one message, and one pool turn, per few
  /// results instead of per result: ~1% of two cores with 10 ms tasks);
  /// they go at once when the worker has nothing left to run, when one is
  /// a failure or a member's, and when there are many.
  bool results_due(const std::vector<sandbox::Outcome>& done);
  int results_wait_ms() const;
  Status start_drain();
  Status on_tasks(const proto::Tasks& m);
  void abort_group(const std::string& group, const std::string& why);
  void on_checkpoint(uint64_t task, std::string state);
  Status send_checkpoints();
  int checkpoint_wait_ms() const;

  // The latest checkpoint of a running task, and when one was last sent.
  struct Checkpoint {
    std::string state;
    bool unsent = false;
    Clock::time_point sent{};
  };

  const PoolWorkerOptions& o_;
  std::unique_ptr<net::Client> client_;
  std::string cache_;
  std::string sig_;   // wsig URL for the relay; empty: members talk only within this worker
  size_t max_frame_;  // the pool's largest message: results are batched under it
  int64_t campaign_ = 0;
  std::string kernel_sha_, static_data_;
  double timeout_s_ = 60;
  std::unique_ptr<sandbox::Executor> executor_;
  Status load_failed_;                  // why this campaign's kernel cannot run here, if it cannot
  std::unique_ptr<RelayRouter> relay_;  // with executor_, when sig_ is set
  std::deque<sandbox::Task> waiting_;
  std::unordered_map<uint64_t, Checkpoint> checkpoints_;  // by task id, while it runs
  bool draining_ = false;
  Clock::time_point last_sent_ = Clock::now();
  Clock::time_point last_beat_ = Clock::now();  // a heartbeat goes at least this often
  Clock::time_point results_since_{};           // when the oldest unsent result came
  int heartbeat_ms_ = 5000;
};

Status PoolSession::on_campaign(const proto::CampaignBind& m) {
  // Tasks of the previous campaign are all answered before the pool switches us.
  relay_.reset();
  executor_.reset();
  waiting_.clear();
  checkpoints_.clear();
  load_failed_ = {};
  campaign_ = m.campaign;
  kernel_sha_ = m.kernel;  // a sha256 (proto/ checked): safe in a file name
  static_data_ = std::string(m.static_data);
  timeout_s_ = static_cast<double>(m.timeout_ms) / 1000.0;
  diag::info("campaign {} '{}', kernel {}", campaign_, m.name, kernel_sha_.substr(0, 12));
  struct stat st;
  if (::stat((cache_ + "/" + kernel_sha_ + ".so").c_str(), &st) == 0) return start_executor();
  return send(proto::encode(proto::Fetch{kernel_sha_}));
}

Status PoolSession::on_artifact(const proto::Artifact& m) {
  const std::string data(m.data);
  if (sha256_hex(data) != kernel_sha_)
    return Status::Invalid(
        fmt::format("kernel artifact does not match its sha256 {}", kernel_sha_));
  W_RETURN_IF_ERROR(make_dirs(cache_));
  const std::string path = cache_ + "/" + kernel_sha_ + ".so";
  const std::string tmp = path + fmt::format(".{}.tmp", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) return errno_status(fmt::format("write '{}'", tmp), errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return errno_status(fmt::format("rename '{}'", tmp), errno);
  return start_executor();
}

Status PoolSession::start_executor() {
  sandbox::ExecutorConfig config;
  config.slot.kernel_path = cache_ + "/" + kernel_sha_ + ".so";
  config.slot.static_data = static_data_;
  config.slot.memory_mb = o_.memory_mb;
  config.slot.insecure_sandbox = o_.insecure_sandbox;
  // A result the pool would refuse fails its task here, with the reason.
  config.slot.max_output = max_frame_ - kEnvelope;
  config.slots = o_.jobs;
  config.timeout = timeout_s_;
  config.on_checkpoint = [this](uint64_t task, std::string state) {
    on_checkpoint(task, std::move(state));
  };
  auto ex = std::make_unique<sandbox::Executor>(std::move(config));
  Status s = ex->start();
  if (!s.ok()) {
    // A kernel that cannot load here fails every task we hold, and every
    // task of the campaign sent later, with the reason (the pool counts the
    // attempts and moves on).
    load_failed_ = s;
    return fail_waiting(s);
  }
  executor_ = std::move(ex);
  if (!sig_.empty()) {
    relay_ = std::make_unique<RelayRouter>(sig_, *executor_);
    executor_->set_remote(relay_.get());
  }
  feed();
  return {};
}

Status PoolSession::fail_waiting(const Status& why) {
  std::vector<sandbox::Outcome> failed;
  for (sandbox::Task& t : waiting_)
    failed.push_back({t.id, false, {}, why.message(), 0, 0, t.group, t.rank});
  waiting_.clear();
  return send_results(failed);
}

void PoolSession::feed() {
  if (!executor_) return;
  // Members never wait behind ordinary tasks: all of them go in now.
  bool members = false;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->member()) {
      executor_->submit(std::move(*it));
      it = waiting_.erase(it);
      members = true;
    } else {
      ++it;
    }
  }
  if (members && relay_) {
    Status s = relay_->connect_pending();
    if (!s.ok()) diag::warning("{}", s.message());
  }
  while (!waiting_.empty() && executor_->can_accept()) {
    executor_->submit(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

void PoolSession::abort_group(const std::string& group, const std::string& why) {
  int stopped = 0;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->member() && it->group == group) {
      it = waiting_.erase(it);
      ++stopped;
    } else {
      ++it;
    }
  }
  if (executor_) stopped += executor_->abort_group(group);
  if (relay_) relay_->abort(group);
  if (stopped > 0) diag::info("group {}: stopped {} members ({})", group, stopped, why);
}

void PoolSession::on_checkpoint(uint64_t task, std::string state) {
  Checkpoint& c = checkpoints_[task];
  c.state = std::move(state);
  c.unsent = true;
}

// Sends each task's latest unsent checkpoint whose interval is up.
Status PoolSession::send_checkpoints() {
  const auto now = Clock::now();
  for (auto& [task, c] : checkpoints_) {
    if (!c.unsent || now - c.sent < kCheckpointInterval) continue;
    c.unsent = false;
    c.sent = now;
    diag::debug("task {}: checkpoint of {} bytes sent", task, c.state.size());
    W_RETURN_IF_ERROR(send(proto::encode(proto::Checkpoint{static_cast<int64_t>(task), c.state})));
    last_sent_ = now;
  }
  return {};
}

// How long the loop may sleep before a held-back checkpoint is due; -1: none is.
int PoolSession::checkpoint_wait_ms() const {
  int best = -1;
  const auto now = Clock::now();
  for (const auto& [task, c] : checkpoints_) {
    if (!c.unsent) continue;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(c.sent + kCheckpointInterval - now)
            .count() +
        1;
    int ms = static_cast<int>(std::max<long long>(0, left));
    if (best < 0 || ms < best) best = ms;
  }
  return best;
}

bool PoolSession::results_due(const std::vector<sandbox::Outcome>& done) {
  if (done.empty()) return false;
  const auto now = Clock::now();
  if (results_since_ == Clock::time_point{}) results_since_ = now;
  if (draining_ || !executor_ || executor_->in_flight() == 0 || done.size() >= kResultBatch ||
      now - results_since_ >= kResultHold)
    return true;
  return std::any_of(done.begin(), done.end(),
                     [](const sandbox::Outcome& o) { return !o.ok || !o.group.empty(); });
}

int PoolSession::results_wait_ms() const {
  // Rounded up: a wait floored to 0 ms would spin through the last one.
  const auto left = kResultHold - (Clock::now() - results_since_);
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
  return static_cast<int>(std::max<int64_t>(0, (us + 999) / 1000));
}

Status PoolSession::send_results(std::vector<sandbox::Outcome>& done) {
  results_since_ = {};
  // A failed task may be tried again: the pool gets its latest state first.
  // A result makes the task's checkpoint moot.
  for (const sandbox::Outcome& out : done) {
    auto it = checkpoints_.find(out.id);
    if (it == checkpoints_.end()) continue;
    if (!out.ok && it->second.unsent) {
      it->second.sent = {};
      W_RETURN_IF_ERROR(send_checkpoints());
    }
    checkpoints_.erase(it);
  }
  if (done.empty()) return {};
  // A member that failed here fails its run: its siblings here stop now.
  for (const sandbox::Outcome& out : done)
    if (!out.group.empty() && !out.ok)
      abort_group(out.group, fmt::format("rank {} failed", out.rank));
  // As many messages as it takes to keep each under the pool's max_frame.
  std::vector<std::string> batch;
  size_t batch_bytes = 0;
  for (const sandbox::Outcome& out : done) {
    proto::ResultItem item;
    item.task = static_cast<int64_t>(out.id);
    item.ms = std::round(out.ms * 1000) / 1000;
    if (!out.group.empty()) item.rank = out.rank, item.group = out.group;
    item.ok = out.ok;
    item.output = out.output;  // one msgpack object, or the encoder makes it an error
    item.error = out.error;
    std::string bytes = proto::encode_result_item(item);
    if (!batch.empty() && batch_bytes + bytes.size() + kEnvelope > max_frame_) {
      W_RETURN_IF_ERROR(send(proto::encode_results(batch)));
      batch.clear();
      batch_bytes = 0;
    }
    batch_bytes += bytes.size();
    batch.push_back(std::move(bytes));
  }
  done.clear();
  last_sent_ = Clock::now();
  return batch.empty() ? Status() : send(proto::encode_results(batch));
}

Status PoolSession::handle(const std::string& data) {
  auto m = proto::decode_to_worker(data);
  if (!m.ok()) return Status::Invalid("malformed message from the pool: " + m.status().message());
  if (auto* c = std::get_if<proto::CampaignBind>(&*m)) return on_campaign(*c);
  if (auto* a = std::get_if<proto::Artifact>(&*m)) return on_artifact(*a);
  if (auto* t = std::get_if<proto::Tasks>(&*m)) return on_tasks(*t);
  if (auto* a = std::get_if<proto::Abort>(&*m)) {
    abort_group(a->group, a->reason);
    return {};
  }
  if (auto* e = std::get_if<proto::Error>(&*m)) return Status(Code::kDenied, e->message);
  if (std::holds_alternative<proto::Drain>(*m)) return start_drain();
  return {};  // unknown types are ignored: newer pools may send more
}

Status PoolSession::on_tasks(const proto::Tasks& m) {
  // proto/ checked every item (a member's rank is below its size >= 2).
  for (const proto::TaskItem& t : m.items) {
    sandbox::Task task{static_cast<uint64_t>(t.id), std::string(t.input), {}};
    if (t.member()) {
      task.group = t.group;
      task.rank = t.rank;
      task.size = t.size;
    } else if (t.checkpoint) {
      task.restore = std::string(*t.checkpoint);
      diag::info("task {}: resuming from a checkpoint of {} bytes", task.id, task.restore.size());
    }
    waiting_.push_back(std::move(task));
  }
  if (!load_failed_.ok()) return fail_waiting(load_failed_);
  feed();
  return {};
}

Status PoolSession::start_drain() {
  if (draining_) return {};
  draining_ = true;
  diag::info("draining: finishing {} running tasks, handing back {}",
             executor_ ? executor_->in_flight() : 0, waiting_.size());
  proto::Bye bye;
  for (const sandbox::Task& t : waiting_)  // members never wait here (feed)
    bye.returned.push_back(static_cast<int64_t>(t.id));
  waiting_.clear();
  return send(proto::encode(bye));
}

Status PoolSession::run() {
  std::vector<sandbox::Outcome> done;
  net::Message msg;
  while (true) {
    if (g_signals >= 2) return Status(Code::kInterrupted, "interrupted twice: exiting at once");
    if (g_signals == 1 && !draining_) W_RETURN_IF_ERROR(start_drain());
    if (draining_ && (!executor_ || executor_->in_flight() == 0)) {
      W_RETURN_IF_ERROR(send_results(done));
      W_RETURN_IF_ERROR(client_->flush(5000));
      client_->close();
      return {};
    }
    while (client_->try_receive(msg)) W_RETURN_IF_ERROR(handle(msg.data));
    if (client_->closed())
      return Status(Code::kIo, "pool connection closed: " + client_->close_reason());
    std::vector<struct pollfd> extra = {{client_->notify_fd(), POLLIN, 0}};
    int wait_ms = std::max(50, heartbeat_ms_ / 2);
    if (int due = checkpoint_wait_ms(); due >= 0) wait_ms = std::min(wait_ms, due);
    if (!done.empty()) wait_ms = std::min(wait_ms, results_wait_ms());
    if (relay_) {
      for (int fd : relay_->fds()) extra.push_back({fd, POLLIN, 0});
      if (int due = relay_->wait_ms(); due >= 0) wait_ms = std::min(wait_ms, due);
    }
    if (executor_) {
      W_RETURN_IF_ERROR(executor_->poll(wait_ms, done, extra));
    } else {
      ::poll(extra.data(), extra.size(), wait_ms);
    }
    if (relay_) relay_->pump();
    if (results_due(done)) W_RETURN_IF_ERROR(send_results(done));
    W_RETURN_IF_ERROR(send_checkpoints());
    feed();
    // Every heartbeat_ms, busy or not: it carries the load the dashboard shows.
    if (Clock::now() - last_beat_ > std::chrono::milliseconds(heartbeat_ms_)) {
      last_sent_ = last_beat_ = Clock::now();
      W_RETURN_IF_ERROR(send(proto::encode(self_report())));
    }
  }
}

Result<std::unique_ptr<net::Client>> connect_and_hello(const PoolWorkerOptions& o,
                                                       const std::string& name, int& heartbeat_ms,
                                                       std::string& sig, size_t& max_frame) {
  std::string url = o.pool;
  while (!url.empty() && url.back() == '/') url.pop_back();
  net::ClientOptions co;
  co.connect_timeout = 10;
  auto c = net::Client::connect(url + "/worker", co);
  if (!c.ok()) return c.status();  // its code tells permanent from transient
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  proto::WorkerHello hello;
  hello.v = proto::kProtocolVersion;
  hello.id = fmt::format("{}-{}", name, ::getpid());
  hello.name = name;
  hello.platform = "linux-x86_64";
  hello.slots = o.jobs;
  hello.memory_mb = static_cast<int64_t>(o.memory_mb);
  hello.score = o.score;
  hello.coupled = true;
  hello.version = W_VERSION;
  hello.key = o.key;
  hello.cap = o.cap;
  hello.worker_key = o.worker_key;
  Status s = (*c)->send(proto::encode(hello), true);
  if (!s.ok()) return s;
  net::Message m;
  auto got = (*c)->receive(m, 10000);
  if (!got.ok()) return got.status();
  if (!*got) return Status(Code::kTimeout, "the pool did not welcome us within 10 s");
  auto answer = proto::decode_to_worker(m.data);
  if (!answer.ok()) return Status::Invalid("malformed welcome: " + answer.status().message());
  if (auto* e = std::get_if<proto::Error>(&*answer)) return Status(Code::kDenied, e->message);
  auto* welcome = std::get_if<proto::Welcome>(&*answer);
  if (!welcome) return Status::Invalid("the pool did not answer hello with welcome");
  if (welcome->v != proto::kProtocolVersion)
    return Status(Code::kDenied, fmt::format("the pool speaks protocol version {}, this worker {}",
                                             welcome->v, proto::kProtocolVersion));
  heartbeat_ms = static_cast<int>(welcome->heartbeat_ms);
  // Pools before the field took 16 MiB.
  max_frame = welcome->max_frame > 0 ? static_cast<size_t>(welcome->max_frame) : size_t{16} << 20;
  sig = o.sig.empty() ? welcome->sig : o.sig;
  diag::info("connected to {} as {}", o.pool, welcome->id);
  return std::move(*c);
}

}  // namespace

double machine_score(const std::string& cache_dir, double (*measure)(const std::string& file)) {
  const std::string dir = cache_dir.empty() ? default_cache_dir() : cache_dir;
  if (!make_dirs(dir).ok()) return 0;
  return measure(dir + "/dhrystone-score");
}

Status run_pool_worker(const PoolWorkerOptions& o) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  const std::string name = o.name.empty() ? host : o.name;
  const std::string cache_root = o.cache_dir.empty() ? default_cache_dir() : o.cache_dir;
  const std::string cache = cache_root + "/kernels";
  PoolWorkerOptions with_key = o;
  auto key = worker_key(cache_root);
  if (!key.ok()) return key.status();
  with_key.worker_key = *key;
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // Transient failures (refused, reset, HTTP 5xx, a lost connection) are
  // retried with capped backoff and jitter, so a restarted pool is not hit
  // by every worker at once; permanent ones (bad URL, unknown host, HTTP
  // 4xx, TLS, denied) end wrun at once with their own exit code.
  net::RetryOptions retry;
  retry.give_up_after = o.retry_for;
  retry.stop = [] { return g_signals != 0; };
  net::Backoff backoff(retry);
  while (g_signals == 0) {
    int heartbeat_ms = 5000;
    std::string sig;
    size_t max_frame = 16u << 20;
    auto client = connect_and_hello(with_key, name, heartbeat_ms, sig, max_frame);
    Status failure;
    if (client.ok()) {
      const auto started = std::chrono::steady_clock::now();
      PoolSession session(with_key, std::move(*client), cache, sig, max_frame);
      Status s = session.run();
      if (s.ok()) return s;  // drained
      // A session that lasted starts the backoff afresh; one that broke at
      // once (a pool failing every hello) keeps it growing.
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) backoff.reset();
      if (s.code() == Code::kDenied || s.code() == Code::kInterrupted) return s;
      // The pool was there: whatever broke the session, it may be back.
      failure = Status::Io(s.message());
    } else {
      failure = client.status();
    }
    if (!o.reconnect) return failure;
    auto again = backoff.wait(failure, "pool " + o.pool);
    if (!again.ok()) return again.status();
  }
  return {};
}

}  // namespace w::worker
