// Pool mode: one connection to the pool at a time, carried by a Session
// (session.h: the protocol, shared with the browser's wrun.wasm) over a
// net::Client, with an ExecutorRunner (executor_runner.h: one
// sandbox::Executor per campaign) running the tasks.
//
// The loop polls the connection's notify fd and the executor's slots
// together, hands every message to the session and ticks it when it is
// due. SIGINT/SIGTERM start a drain (running tasks finish, the rest go
// back); a second one exits at once. When the pool goes away the executor
// is dropped (its leases expire on the pool) and the worker reconnects with
// exponential backoff + jitter.
//
// Coupled campaigns: members' messages to members on other workers travel
// through wsig's relay (RelayRouter, at the pool's `sig` or --sig).
#include "w/pool_worker.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>

#include <fmt/format.h>

#include "executor_runner.h"
#include "host.h"
#include "session.h"
#include "w/diag.h"
#include "w/net_client.h"

namespace w::worker {
namespace {

volatile std::sig_atomic_t g_signals = 0;
void on_signal(int) {
  g_signals = g_signals + 1;
}

using Clock = std::chrono::steady_clock;
constexpr int kWelcomeMs = 10000;  // the pool's time to answer hello

double now_ms() {
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

// The session's frames on a net::Client (libwebsockets).
class ClientTransport : public Transport {
 public:
  explicit ClientTransport(net::Client& client) : client_(client) {}
  Status send(std::string_view frame) override { return client_.send(std::string(frame), true); }
  // The bye and the last results reach the pool before the close frame.
  void close() override {
    Status s = client_.flush(5000);
    if (!s.ok()) diag::warning("{}", s.message());
    client_.close();
  }

 private:
  net::Client& client_;
};

proto::WorkerHello hello_of(const PoolWorkerOptions& o, const std::string& name) {
  proto::WorkerHello hello;
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
  return hello;
}

// Serves one connection until it ends (an error) or a drain completes
// (ok). `welcomed`: the pool welcomed us (a failure before that keeps its
// own code: a refused or malformed welcome is not worth a retry).
Status serve(const PoolWorkerOptions& o, const std::string& name, net::Client& client,
             const std::string& cache, bool& welcomed) {
  ClientTransport transport(client);
  const bool tls = o.pool.rfind("wss://", 0) == 0 || o.pool.rfind("https://", 0) == 0;
  ExecutorRunner runner({cache, o.jobs, o.memory_mb, o.insecure_sandbox, o.sig, o.link, tls});
  Session session({hello_of(o, name), now_ms, self_report}, transport, runner);
  W_RETURN_IF_ERROR(session.start());
  const double started = now_ms();
  double idle_since = -1;  // --exit-idle: when the last task was done (-1: busy)
  net::Message msg;
  std::vector<struct pollfd> fds;
  while (true) {
    if (g_signals >= 2) return Status(Code::kInterrupted, "interrupted twice: exiting at once");
    if (g_signals == 1 && !session.draining()) W_RETURN_IF_ERROR(session.drain());
    W_RETURN_IF_ERROR(session.tick());
    if (session.finished()) return {};
    while (client.try_receive(msg)) {
      W_RETURN_IF_ERROR(session.on_message(msg.data));
      if (session.welcomed() && !welcomed) {
        welcomed = true;
        diag::info("connected to {} as {}", o.pool, session.welcome().id);
      }
      if (session.finished()) return {};
    }
    if (client.closed())
      return Status(Code::kIo, "pool connection closed: " + client.close_reason());
    if (!welcomed && now_ms() - started > kWelcomeMs)
      return Status(Code::kTimeout, "the pool did not welcome us within 10 s");
    int wait_ms = session.wait_ms();
    if (o.exit_idle > 0 && welcomed && !session.draining()) {
      const double now = now_ms();
      if (runner.in_flight() > 0) {
        idle_since = -1;
      } else if (idle_since < 0) {
        idle_since = now;
      } else if (now - idle_since >= o.exit_idle * 1000) {
        diag::info("no task for {:g} s: draining (--exit-idle)", o.exit_idle);
        W_RETURN_IF_ERROR(session.drain());
        continue;
      }
      if (idle_since >= 0)
        wait_ms = std::min(wait_ms, static_cast<int>(idle_since + o.exit_idle * 1000 - now) + 1);
    }
    fds.assign(1, {client.notify_fd(), POLLIN, 0});
    W_RETURN_IF_ERROR(runner.poll(std::max(wait_ms, 0), fds));
  }
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
    std::string url = o.pool;
    while (!url.empty() && url.back() == '/') url.pop_back();
    net::ClientOptions co;
    co.connect_timeout = 10;
    auto client = net::Client::connect(url + "/worker", co);
    Status failure;
    if (client.ok()) {
      const auto started = std::chrono::steady_clock::now();
      bool welcomed = false;
      Status s = serve(with_key, name, **client, cache, welcomed);
      client->reset();       // closed before the backoff's sleep
      if (s.ok()) return s;  // drained
      // A session that lasted starts the backoff afresh; one that broke at
      // once (a pool failing every hello) keeps it growing.
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) backoff.reset();
      if (s.code() == Code::kDenied || s.code() == Code::kInterrupted) return s;
      // The pool was there: whatever broke the session, it may be back.
      failure = welcomed ? Status::Io(s.message()) : s;
    } else {
      failure = client.status();  // its code tells permanent from transient
    }
    if (!o.reconnect) return failure;
    auto again = backoff.wait(failure, "pool " + o.pool);
    if (!again.ok()) return again.status();
  }
  return {};
}

}  // namespace w::worker
