// pool_idle: idle worker connections for bench/pool.sh.
//
//   pool_idle --port P --conns N [--hold S] [--heartbeat S] [--key KEY]
//
// Opens N WebSocket connections to a pool's /worker endpoint, each saying
// hello as a one-slot worker (w-protocol(7)), and waits for every welcome.
// Then prints one JSON line {"conns", "welcomed", "failed", "accept_s"} and
// holds the connections --hold seconds (heartbeats every --heartbeat
// seconds, so the pool does not drop them as silent) while the caller reads
// the pool's memory; then it exits, closing them all. Everything is bounded:
// a connection not welcomed within --timeout seconds counts as failed, as does one the pool closes.
//
// One thread, epoll, no TLS, no libwebsockets: the tool should cost the
// machine as little as possible next to the pool it measures. The
// WebSocket side (zero-key client frames) is ws_client.h's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ws_client.h"

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int conns = 5000;
  double hold_s = 2;
  double heartbeat_s = 5;
  double timeout_s = 60;
  std::string key;
  int in_flight = 256;  // handshakes at once: a burst of 5,000 SYNs overflows the backlog
};

enum class State { kConnecting, kUpgrading, kHello, kWelcomed, kDead };

// One per connection, alive for the whole run.
struct Conn {
  int fd = -1;
  State state = State::kConnecting;
  std::string in;   // bytes received and not yet parsed
  std::string out;  // bytes not yet written (the socket was full)
};

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "pool_idle: error: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// A client binary frame with a zero mask key.
std::string frame(std::string_view payload) {
  std::string f;
  ws_client::append_frame(f, '\x82', payload);
  return f;
}

// MessagePack by hand: fixmaps of short strings and small integers are all
// hello and heartbeat need.
void mp_str(std::string& o, std::string_view s) {
  o += static_cast<char>(0xa0 | s.size());  // fixstr: callers keep s < 32 bytes
  o += s;
}

std::string hello(int i, const std::string& key) {
  std::string m;
  m += static_cast<char>(0x80 | (key.empty() ? 6 : 7));
  mp_str(m, "t"), mp_str(m, "hello");
  mp_str(m, "v"), m += '\x01';
  mp_str(m, "id"), mp_str(m, "idle-" + std::to_string(i));
  mp_str(m, "name"), mp_str(m, "pool_idle");
  mp_str(m, "platform"), mp_str(m, "linux-x86_64");
  mp_str(m, "slots"), m += '\x01';
  if (!key.empty()) mp_str(m, "key"), mp_str(m, key.substr(0, 31));
  return frame(m);
}

std::string heartbeat() {
  std::string m;
  m += '\x81';
  mp_str(m, "t"), mp_str(m, "heartbeat");
  return frame(m);
}

// Takes whole server frames (unmasked) off `in`; returns the payloads.
std::vector<std::string> take_frames(std::string& in) {
  std::vector<std::string> got;
  ws_client::take_frames(in, [&](unsigned, std::string_view m) { got.emplace_back(m); });
  return got;
}

class Load {
 public:
  explicit Load(const Options& o) : o_(o), conns_(o.conns) {
    ep_ = epoll_create1(0);
    if (ep_ < 0) die("epoll_create1");
    std::memset(&addr_, 0, sizeof addr_);
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &addr_.sin_addr) != 1) {
      errno = EINVAL;
      die("address '" + o.host + "'");
    }
  }

  // Connects everyone; returns the seconds until the last welcome.
  double connect_all() {
    const double t0 = now_s();
    while (welcomed_ + failed_ < o_.conns) {
      while (next_ < o_.conns && next_ - welcomed_ - failed_ < o_.in_flight) open(next_++);
      if (now_s() - t0 > o_.timeout_s) break;
      poll(100);
    }
    const double took = now_s() - t0;
    for (auto& c : conns_)  // what the deadline caught
      if (c.state != State::kWelcomed && c.state != State::kDead) fail(c);
    return took;
  }

  // Keeps the welcomed connections, heartbeating, for `seconds`.
  void hold(double seconds) {
    const double end = now_s() + seconds;
    double next_beat = now_s() + o_.heartbeat_s;
    for (double t = now_s(); t < end; t = now_s()) {
      if (t >= next_beat) {
        const std::string hb = heartbeat();
        for (auto& c : conns_)
          if (c.state == State::kWelcomed) send(c, hb);
        next_beat = t + o_.heartbeat_s;
      }
      poll(static_cast<int>(std::min(end - t, next_beat - t) * 1000) + 1);
    }
  }

  int welcomed() const { return welcomed_; }
  int failed() const { return failed_; }

 private:
  void open(int i) {
    Conn& c = conns_[i];
    c.fd = ws_client::open_connection(ep_, addr_, EPOLLIN | EPOLLOUT, static_cast<uint64_t>(i));
    if (c.fd < 0 && (errno == EMFILE || errno == ENFILE)) die("socket (raise ulimit -n)");
    if (c.fd < 0) fail(c);
  }

  void fail(Conn& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    if (c.state == State::kWelcomed) --welcomed_;
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

  void poll(int ms) {
    epoll_event evs[512];
    int n = epoll_wait(ep_, evs, 512, ms);
    for (int k = 0; k < n; ++k) {
      const int i = static_cast<int>(evs[k].data.u64);
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

  void upgrade(Conn& c, int i) {
    c.state = State::kUpgrading;
    // EPOLLOUT again only if a write ever blocks (it does not: tiny frames).
    ws_client::watch(ep_, c.fd, EPOLLIN, static_cast<uint64_t>(i));
    send(c, ws_client::upgrade_request("/worker", o_.host + ":" + std::to_string(o_.port)));
  }

  void receive(Conn& c) {
    if (!ws_client::read_available(c.fd, c.in)) return fail(c);
    if (c.state == State::kUpgrading) {
      const ws_client::Upgrade up = ws_client::take_upgrade(c.in);
      if (up == ws_client::Upgrade::kPending) return;
      if (up == ws_client::Upgrade::kRefused) return fail(c);
      c.state = State::kHello;
      send(c, hello(static_cast<int>(&c - conns_.data()), o_.key));
    }
    for (const auto& m : take_frames(c.in)) {
      if (c.state == State::kHello && m.find("welcome") != std::string::npos) {
        c.state = State::kWelcomed;
        ++welcomed_;
      } else if (m.find("error") != std::string::npos) {
        return fail(c);
      }
    }
    c.in.shrink_to_fit();  // idle from now on: keep the tool's own memory small
  }

  Options o_;
  std::vector<Conn> conns_;
  sockaddr_in addr_;
  int ep_ = -1;
  int next_ = 0, welcomed_ = 0, failed_ = 0;
};

void usage() {
  std::fputs(
      "Usage: pool_idle --port P [--host H] [--conns N] [--hold S] [--heartbeat S]\n"
      "                 [--timeout S] [--key KEY]\n"
      "Opens N idle worker connections to a wpool and prints how long they took.\n"
      "Example: pool_idle --port 7070 --conns 5000 --hold 3\n",
      stdout);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(), std::exit(0);
    if (i + 1 >= argc) {
      std::fprintf(stderr, "pool_idle: error: %s needs a value\n", a.c_str());
      std::exit(2);
    }
    std::string v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = std::atoi(v.c_str());
    else if (a == "--conns")
      o.conns = std::atoi(v.c_str());
    else if (a == "--hold")
      o.hold_s = std::atof(v.c_str());
    else if (a == "--heartbeat")
      o.heartbeat_s = std::atof(v.c_str());
    else if (a == "--timeout")
      o.timeout_s = std::atof(v.c_str());
    else if (a == "--key")
      o.key = v;
    else {
      std::fprintf(stderr, "pool_idle: error: unknown option '%s'\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.port <= 0 || o.port > 65535 || o.conns <= 0 || o.conns > 1000000 || o.hold_s < 0 ||
      o.heartbeat_s <= 0 || o.timeout_s <= 0) {
    std::fputs("pool_idle: error: --port, --conns, --hold, --heartbeat or --timeout out of range\n",
               stderr);
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Load load(o);
  const double took = load.connect_all();
  std::printf("{\"conns\":%d,\"welcomed\":%d,\"failed\":%d,\"accept_s\":%.4f}\n", o.conns,
              load.welcomed(), load.failed(), took);
  std::fflush(stdout);
  load.hold(o.hold_s);
  return load.welcomed() == o.conns ? 0 : 1;
}
