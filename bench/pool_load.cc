// pool_load: N simulated workers that really take tasks and return results,
// for bench/pool_scale.sh (issue 17: ten thousand active workers).
//
//   pool_load --port P --workers N --rate R [--seconds S] [--warmup W]
//             [--cap CAP | --key KEY]
//
// Opens N WebSocket connections to a pool's /worker endpoint, each a
// one-slot worker (w-protocol(7)): hello, then for every task the pool
// leases it "runs" the task for 0.5/R to 1.5/R seconds (uniform, seeded: on
// average 1/R) and returns a result (msgpack nil), one at a time, so N
// workers offer N x R tasks/s. The spread matters: with every task exactly
// 1/R long, workers that joined together stay in step and their results
// reach the pool as one burst per period, which measures how long the pool
// takes to drain N results at once, not how fast it refills a worker. After --warmup
// seconds it measures for --seconds and prints one JSON line:
//   tasks_per_s     results returned per second in the window
//   topup_p50_ms, topup_p99_ms
//                   from a `results` message sent to the next `tasks`
//                   message received on that connection: how fast the pool
//                   refills a worker under this load (the lease latency)
//   idle_fraction   of the slot time spent waiting with no task queued
//   load_cpu        cores this tool used (near 1: it is the bottleneck)
// Every message is encoded and decoded with the pool's own proto/ codec,
// so the pool sees exactly what wrun sends. One thread, epoll, no TLS.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/worker_messages.h"
#include "ws_client.h"

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int workers = 1000;
  int first = 0;    // the first worker's number: ids load-<first>...
  double rate = 1;  // tasks per second per worker
  double seconds = 20, warmup = 5, timeout = 120;
  std::string key, cap;
  int in_flight = 256;  // handshakes at once: a burst of SYNs overflows the backlog
};

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "pool_load: error: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

std::string frame(std::string_view payload) {
  std::string f;
  ws_client::append_frame(f, '\x82', payload);
  return f;
}

enum class State { kConnecting, kUpgrading, kHello, kWorking, kDead };

struct Conn {
  int fd = -1;
  State state = State::kConnecting;
  std::string in, out;
  std::deque<int64_t> queued;   // tasks leased and not started
  int64_t running = 0;          // the task in the slot; 0 = none
  double started = 0;           // when the running task started (now_s())
  double idle_since = -1;       // when the slot last emptied with nothing queued
  double results_sent_at = -1;  // the last results message not yet answered by tasks
};

class Load {
 public:
  explicit Load(const Options& o) : o_(o), conns_(static_cast<size_t>(o.workers)) {
    ep_ = epoll_create1(0);
    if (ep_ < 0) die("epoll_create1");
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &addr_.sin_addr) != 1) {
      errno = EINVAL;
      die("address '" + o.host + "'");
    }
  }

  /// Connects every worker; the seconds until the last one said hello.
  double connect_all() {
    const double t0 = now_s();
    while (working_ + failed_ < o_.workers && now_s() - t0 < o_.timeout) {
      while (next_ < o_.workers && next_ - working_ - failed_ < o_.in_flight) open(next_++);
      poll(now_s() + 0.1);
    }
    return now_s() - t0;
  }

  /// Works for warmup + seconds; measures the last `seconds`.
  void run() {
    const double start = now_s();
    window_start_ = start + o_.warmup;
    window_end_ = window_start_ + o_.seconds;
    cpu_start_ = cpu_s();
    // Heartbeats every kBeat seconds per worker, spread over the period as
    // real workers' are (each beats from its own connect time): sent all at
    // once, 10,000 of them would be a burst the pool drains for ~100 ms.
    constexpr double kBeat = 5;
    const std::string hb = frame(w::proto::encode(w::proto::Heartbeat{}));
    const size_t n = conns_.size();
    size_t beats = 0;  // heartbeats sent so far, over all periods
    for (double t = now_s(); t < window_end_; t = now_s()) {
      finish_due(t);
      const auto due = static_cast<size_t>((t - start) / kBeat * static_cast<double>(n));
      for (; beats < due; ++beats)
        if (Conn& c = conns_[beats % n]; c.state == State::kWorking) send(c, hb);
      double wake = std::min(
          window_end_, start + static_cast<double>(beats + 1) * kBeat / static_cast<double>(n));
      if (!due_.empty()) wake = std::min(wake, due_.top().first);
      poll(wake);
    }
    cpu_used_ = cpu_s() - cpu_start_;
    for (Conn& c : conns_)  // slots still idle at the end
      if (c.state == State::kWorking && c.idle_since >= 0) add_idle(c.idle_since, window_end_);
  }

  /// CPU seconds this process has used, so a reader can tell the load
  /// generator was not the bottleneck.
  static double cpu_s() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }

  void report(double accept_s) const {
    std::vector<double> t = topups_;
    std::sort(t.begin(), t.end());
    auto pct = [&](double p) {
      return t.empty() ? 0.0 : t[std::min(t.size() - 1, static_cast<size_t>(p * t.size()))];
    };
    const double slot_time = o_.seconds * working_;
    std::printf(
        "{\"workers\":%d,\"working\":%d,\"failed\":%d,\"accept_s\":%.3f,\"rate\":%g,"
        "\"seconds\":%g,\"results\":%lld,\"tasks_per_s\":%.1f,\"topup_p50_ms\":%.2f,"
        "\"topup_p99_ms\":%.2f,\"idle_fraction\":%.4f,\"load_cpu\":%.2f}\n",
        o_.workers, working_, failed_, accept_s, o_.rate, o_.seconds,
        static_cast<long long>(results_), static_cast<double>(results_) / o_.seconds,
        pct(0.5) * 1000, pct(0.99) * 1000, slot_time > 0 ? idle_ / slot_time : 0.0,
        cpu_used_ / (o_.warmup + o_.seconds));
  }

  int working() const { return working_; }

 private:
  void open(int i) {
    Conn& c = conns_[static_cast<size_t>(i)];
    c.fd = ws_client::open_connection(ep_, addr_, EPOLLIN | EPOLLOUT, static_cast<uint64_t>(i));
    if (c.fd < 0 && (errno == EMFILE || errno == ENFILE)) die("socket (raise ulimit -n)");
    if (c.fd < 0) fail(c);
  }

  void fail(Conn& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    if (c.state == State::kWorking) --working_;
    c.state = State::kDead;
    ++failed_;
  }

  void send(Conn& c, const std::string& bytes) {
    c.out += bytes;
    flush(c);
  }

  void flush(Conn& c) {
    if (!ws_client::flush(c.fd, c.out)) fail(c);
  }

  // Waits for sockets until `until` (seconds, now_s()'s clock).
  void poll(double until) {
    epoll_event evs[512];
    // Rounded up: a task due in 0.4 ms would otherwise make a wait of 0 ms,
    // and at thousands of results a second the loop would spin on a core
    // the pool needs. A result leaves up to 1 ms late; lateness is not in
    // the refill time, which starts when the result is sent.
    const int ms = std::max(0, static_cast<int>(std::ceil((until - now_s()) * 1000)));
    const int n = epoll_wait(ep_, evs, 512, ms);
    for (int k = 0; k < n; ++k) {
      const auto i = evs[k].data.u64;
      Conn& c = conns_[i];
      if (c.state == State::kDead) continue;
      if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
        fail(c);
        continue;
      }
      if (c.state == State::kConnecting && (evs[k].events & EPOLLOUT)) upgrade(c, i);
      if (evs[k].events & EPOLLOUT) flush(c);
      if (evs[k].events & EPOLLIN) receive(c);
    }
  }

  void upgrade(Conn& c, uint32_t i) {
    c.state = State::kUpgrading;
    // Edge-triggered: EPOLLOUT only when a full socket drains.
    ws_client::watch(ep_, c.fd, EPOLLIN | EPOLLOUT | EPOLLET, i);
    send(c, ws_client::upgrade_request("/worker", o_.host + ":" + std::to_string(o_.port)));
  }

  std::string hello(size_t i) const {
    w::proto::WorkerHello h;
    h.v = w::proto::kProtocolVersion;
    h.id = "load-" + std::to_string(static_cast<size_t>(o_.first) + i);
    h.name = "pool_load";
    h.slots = 1;
    h.coupled = false;
    h.key = o_.key;
    h.cap = o_.cap;
    return frame(w::proto::encode(h));
  }

  void receive(Conn& c) {
    if (!ws_client::read_available(c.fd, c.in)) return fail(c);
    if (c.state == State::kUpgrading) {
      const ws_client::Upgrade up = ws_client::take_upgrade(c.in);
      if (up == ws_client::Upgrade::kPending) return;
      if (up == ws_client::Upgrade::kRefused) return fail(c);
      c.state = State::kHello;
      send(c, hello(static_cast<size_t>(&c - conns_.data())));
    }
    std::vector<std::string> messages;
    ws_client::take_frames(c.in, [&](unsigned, std::string_view m) { messages.emplace_back(m); });
    for (const std::string& m : messages) {
      if (c.state == State::kDead) return;
      on_message(c, m);
    }
  }

  void on_message(Conn& c, const std::string& bytes) {
    auto m = w::proto::decode_to_worker(bytes);
    if (!m.ok()) {
      std::fprintf(stderr, "pool_load: undecodable message from the pool: %s\n",
                   m.status().message().c_str());
      return fail(c);
    }
    const double t = now_s();
    if (std::holds_alternative<w::proto::Welcome>(*m) && c.state == State::kHello) {
      c.state = State::kWorking;
      c.idle_since = t;
      ++working_;
    } else if (auto* tasks = std::get_if<w::proto::Tasks>(&*m)) {
      if (c.results_sent_at >= 0 && in_window(t)) topups_.push_back(t - c.results_sent_at);
      c.results_sent_at = -1;
      for (const auto& item : tasks->items) c.queued.push_back(item.id);
      start_next(c, t);
    } else if (std::holds_alternative<w::proto::Error>(*m)) {
      std::fprintf(stderr, "pool_load: the pool refused a worker: %s\n",
                   std::get<w::proto::Error>(*m).message.c_str());
      fail(c);
    }
  }

  bool in_window(double t) const { return t >= window_start_ && t < window_end_; }

  void add_idle(double from, double to) {
    from = std::max(from, window_start_);
    to = std::min(to, window_end_);
    if (to > from) idle_ += to - from;
  }

  void start_next(Conn& c, double t) {
    if (c.running != 0 || c.queued.empty()) return;
    if (c.idle_since >= 0) add_idle(c.idle_since, t);
    c.idle_since = -1;
    c.running = c.queued.front();
    c.queued.pop_front();
    c.started = t;
    due_.emplace(t + duration_(random_) / o_.rate, static_cast<uint32_t>(&c - conns_.data()));
  }

  // Returns the results of the tasks whose time is up.
  void finish_due(double t) {
    while (!due_.empty() && due_.top().first <= t) {
      Conn& c = conns_[due_.top().second];
      due_.pop();
      if (c.state != State::kWorking || c.running == 0) continue;
      w::proto::ResultItem item;
      item.task = c.running;
      item.output = std::string_view("\xc0", 1);  // nil
      item.ms = (t - c.started) * 1000;
      w::proto::Results r;
      r.items.push_back(item);
      send(c, frame(w::proto::encode(r)));
      if (in_window(t)) ++results_;
      c.running = 0;
      c.results_sent_at = t;
      if (c.queued.empty()) c.idle_since = t;
      start_next(c, t);
    }
  }

  Options o_;
  std::vector<Conn> conns_;
  sockaddr_in addr_{};
  int ep_ = -1;
  int next_ = 0, working_ = 0, failed_ = 0;
  // Slots running a task: (when it finishes, connection), soonest first.
  using Due = std::pair<double, uint32_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  std::mt19937_64 random_{17};                                 // the same durations on every run
  std::uniform_real_distribution<double> duration_{0.5, 1.5};  // of 1/rate
  double window_start_ = 0, window_end_ = 0;
  int64_t results_ = 0;
  double idle_ = 0;
  double cpu_start_ = 0, cpu_used_ = 0;
  std::vector<double> topups_;
};

void usage() {
  std::fputs(
      "Usage: pool_load --port P [--host H] --workers N --rate R [--seconds S] [--warmup W]\n"
      "                 [--timeout S] [--cap CAP | --key KEY] [--first K]\n"
      "N one-slot simulated workers, each taking R tasks/s, against a wpool; prints\n"
      "one JSON line of tasks/s, top-up latency and idle slot time. Their ids are\n"
      "load-K ... load-(K+N-1) (K: --first, default 0): loads against pools that\n"
      "share one store take ranges of their own, as distinct workers would.\n"
      "Example: pool_load --port 7070 --workers 10000 --rate 1 --seconds 20\n",
      stdout);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(), std::exit(0);
    if (i + 1 >= argc) {
      std::fprintf(stderr, "pool_load: error: %s needs a value\n", a.c_str());
      std::exit(2);
    }
    std::string v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = std::atoi(v.c_str());
    else if (a == "--workers")
      o.workers = std::atoi(v.c_str());
    else if (a == "--first")
      o.first = std::atoi(v.c_str());
    else if (a == "--rate")
      o.rate = std::atof(v.c_str());
    else if (a == "--seconds")
      o.seconds = std::atof(v.c_str());
    else if (a == "--warmup")
      o.warmup = std::atof(v.c_str());
    else if (a == "--timeout")
      o.timeout = std::atof(v.c_str());
    else if (a == "--key")
      o.key = v;
    else if (a == "--cap")
      o.cap = v;
    else {
      std::fprintf(stderr, "pool_load: error: unknown option '%s'\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.port <= 0 || o.port > 65535 || o.workers <= 0 || o.workers > 1000000 || o.first < 0 ||
      o.rate <= 0 || o.rate > 10000 || o.seconds <= 0 || o.warmup < 0 || o.timeout <= 0) {
    std::fputs("pool_load: error: an option is out of range (see --help)\n", stderr);
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Load load(o);
  const double accept_s = load.connect_all();
  load.run();
  load.report(accept_s);
  return load.working() == o.workers ? 0 : 1;
}
