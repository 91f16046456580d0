// wsig_load: a PeerJS-protocol load generator for bench/wsig.sh, the same
// for wsig and the stock PeerJS server.
//
//   wsig_load --port P --peers N [--hold S] [--rate R --senders K --seconds D]
//             [--server-pid PID]
//
// 1. Connects N peers (ids p0..pN-1) as PeerJS clients do and waits for
//    each OPEN; prints the time it took.
// 2. --hold S: keeps them connected S seconds (heartbeats every 10 s), so
//    the caller can read the server's memory.
// 3. --rate R: the first K peers, paired (p0<->p1, ...), send R OFFER
//    messages of --size bytes per second in all, for D seconds; each carries
//    its send time, so the receiver measures latency. Prints one JSON line:
//    sent, received, lost, latency percentiles and, given --server-pid, the
//    server's CPU time per message.
//
// One thread, epoll, no TLS. The WebSocket side is ws_client.h's: frames
// masked with a zero key, so the generator spends its time on syscalls only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "ws_client.h"

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 9000;
  std::string path = "/";
  std::string key = "peerjs";
  int peers = 1000;
  double hold_s = 0;
  double rate = 0;
  int senders = 1000;
  double seconds = 10;
  int size = 300;
  int server_pid = 0;
  int in_flight = 200;  // handshakes at once
};

struct Conn {
  int fd = -1;
  bool connected = false;  // TCP up, handshake sent
  bool upgraded = false;   // 101 seen
  bool open = false;       // {"type":"OPEN"} seen
  std::string in, out;
};

int64_t now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "wsig_load: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// A client text frame with a zero mask key.
void append_frame(std::string& out, std::string_view payload) {
  ws_client::append_frame(out, '\x81', payload);
}

class Load {
 public:
  explicit Load(const Options& o) : o_(o), conns_(static_cast<size_t>(o.peers)) {
    ep_ = epoll_create1(0);
    if (ep_ < 0) die("epoll_create1");
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(o.port));
    inet_pton(AF_INET, o.host.c_str(), &addr_.sin_addr);
  }

  void connect_all() {
    const int64_t t0 = now_ns();
    size_t next = 0;
    while (opened_ < o_.peers) {
      while (static_cast<int64_t>(next) - opened_ < o_.in_flight && next < conns_.size())
        start(next++);
      poll(100);
    }
    std::fprintf(stderr, "wsig_load: %d peers connected in %.2f s\n", opened_,
                 static_cast<double>(now_ns() - t0) / 1e9);
  }

  void hold(double seconds) {
    const int64_t end = now_ns() + static_cast<int64_t>(seconds * 1e9);
    int64_t next_beat = now_ns();
    while (now_ns() < end) {
      if (now_ns() >= next_beat) {
        for (size_t i = 0; i < conns_.size(); ++i) send(i, R"({"type":"HEARTBEAT"})");
        next_beat += 10'000'000'000;
      }
      poll(100);
    }
  }

  void relay() {
    const int k = std::min(o_.senders, o_.peers) & ~1;
    const double cpu0 = server_cpu_s();
    const int64_t t0 = now_ns(), end = t0 + static_cast<int64_t>(o_.seconds * 1e9);
    int64_t sent = 0;
    size_t who = 0;
    while (now_ns() < end) {
      const int64_t due = static_cast<int64_t>(o_.rate * static_cast<double>(now_ns() - t0) / 1e9);
      for (; sent < due; ++sent, who = (who + 1) % static_cast<size_t>(k)) {
        const size_t dst = who ^ 1;
        char head[96];
        int n = std::snprintf(head, sizeof head,
                              R"({"type":"OFFER","dst":"p%zu","payload":{"t":%lld,"sdp":")", dst,
                              static_cast<long long>(now_ns()));
        std::string msg(head, static_cast<size_t>(n));
        msg.append(static_cast<size_t>(std::max(0, o_.size - n - 3)), 'x');
        msg += "\"}}";
        append_frame(conns_[who].out, msg);
        dirty_.push_back(who);
      }
      flush();
      poll(1);
    }
    // Drain: wait until everything sent has arrived, or 3 s of silence.
    int64_t last = received_, quiet_since = now_ns();
    while (received_ < sent && now_ns() - quiet_since < 3'000'000'000) {
      poll(50);
      if (received_ != last) last = received_, quiet_since = now_ns();
    }
    const double cpu = server_cpu_s() - cpu0;
    const double secs = static_cast<double>(now_ns() - t0) / 1e9;
    report(sent, secs, cpu);
  }

 private:
  void start(size_t i) {
    Conn& c = conns_[i];
    c.out = ws_client::upgrade_request(
        o_.path + "peerjs?key=" + o_.key + "&id=p" + std::to_string(i) + "&token=t", o_.host);
    c.fd = ws_client::open_connection(ep_, addr_, EPOLLIN | EPOLLOUT | EPOLLET, i);
    if (c.fd < 0) die("connect (raise ulimit -n?)");
  }

  void send(size_t i, std::string_view payload) {
    append_frame(conns_[i].out, payload);
    dirty_.push_back(i);
    flush();
  }

  void flush() {
    for (size_t i : dirty_) write_out(i);
    dirty_.clear();
  }

  void write_out(size_t i) {
    Conn& c = conns_[i];
    // What the socket does not take now waits for EPOLLOUT to call again.
    if (!ws_client::flush(c.fd, c.out)) die("write");
  }

  // Edge-triggered: reads and writes go until EAGAIN.
  void poll(int timeout_ms) {
    epoll_event evs[256];
    int n = epoll_wait(ep_, evs, 256, timeout_ms);
    for (int e = 0; e < n; ++e) {
      const size_t i = evs[e].data.u64;
      if (evs[e].events & EPOLLOUT) write_out(i);
      if (evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_in(i);
    }
  }

  void read_in(size_t i) {
    Conn& c = conns_[i];
    if (!ws_client::read_available(c.fd, c.in)) {
      std::fprintf(stderr, "wsig_load: peer p%zu lost its connection\n", i);
      std::exit(1);
    }
    if (!c.upgraded) {
      const ws_client::Upgrade up = ws_client::take_upgrade(c.in);
      if (up == ws_client::Upgrade::kPending) return;
      if (up == ws_client::Upgrade::kRefused) {
        std::fprintf(stderr, "wsig_load: p%zu refused: %s\n", i, c.in.substr(0, 80).c_str());
        std::exit(1);
      }
      c.upgraded = true;
    }
    ws_client::take_frames(c.in, [&](unsigned op, std::string_view m) {
      if (op <= 2) on_message(c, m);
    });
  }

  void on_message(Conn& c, std::string_view m) {
    if (!c.open) {
      if (m != R"({"type":"OPEN"})") {
        std::fprintf(stderr, "wsig_load: expected OPEN, got %.*s\n", static_cast<int>(m.size()),
                     m.data());
        std::exit(1);
      }
      c.open = true;
      ++opened_;
      return;
    }
    const size_t t = m.find("\"t\":");
    if (t == std::string_view::npos) return;
    ++received_;
    latencies_.push_back(now_ns() - std::atoll(m.data() + t + 4));
  }

  double server_cpu_s() const {
    if (!o_.server_pid) return 0;
    std::ifstream in("/proc/" + std::to_string(o_.server_pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    // Fields after the command name (which may hold spaces): utime is 14th, stime 15th.
    std::string rest = stat.substr(stat.rfind(')') + 2);
    long long utime = 0, stime = 0;
    std::sscanf(rest.c_str(), "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime,
                &stime);
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  void report(int64_t sent, double secs, double cpu) {
    std::sort(latencies_.begin(), latencies_.end());
    auto pct = [&](double p) {
      if (latencies_.empty()) return 0.0;
      size_t i = std::min(latencies_.size() - 1,
                          static_cast<size_t>(p * static_cast<double>(latencies_.size())));
      return static_cast<double>(latencies_[i]) / 1e6;
    };
    std::printf(
        "{\"peers\":%d,\"senders\":%d,\"rate\":%.0f,\"seconds\":%.2f,\"sent\":%lld,\"received\":%"
        "lld,"
        "\"lost\":%lld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"server_cpu_s\":%.3f,"
        "\"cpu_us_per_msg\":%.3f}\n",
        o_.peers, o_.senders, o_.rate, secs, static_cast<long long>(sent),
        static_cast<long long>(received_), static_cast<long long>(sent - received_), pct(0.5),
        pct(0.99), pct(1.0), cpu, sent ? cpu * 1e6 / static_cast<double>(sent) : 0.0);
    std::fflush(stdout);
  }

  const Options& o_;
  std::vector<Conn> conns_;
  std::vector<size_t> dirty_;
  std::vector<int64_t> latencies_;
  int64_t received_ = 0;
  int opened_ = 0;
  int ep_ = -1;
  sockaddr_in addr_{};
};

// --name value pairs; no validation beyond numbers, as a bench tool.
Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = std::stoi(v);
    else if (k == "--path")
      o.path = v;
    else if (k == "--key")
      o.key = v;
    else if (k == "--peers")
      o.peers = std::stoi(v);
    else if (k == "--hold")
      o.hold_s = std::stod(v);
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--senders")
      o.senders = std::stoi(v);
    else if (k == "--seconds")
      o.seconds = std::stod(v);
    else if (k == "--size")
      o.size = std::stoi(v);
    else if (k == "--server-pid")
      o.server_pid = std::stoi(v);
    else {
      std::fprintf(stderr, "wsig_load: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Load load(o);
  load.connect_all();
  if (o.hold_s > 0) load.hold(o.hold_s);
  if (o.rate > 0) load.relay();
  return 0;
}
