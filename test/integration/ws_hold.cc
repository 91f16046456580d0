// ws_hold: idle WebSocket connections that never authenticate, for the
// tests of what a server does before authentication (wpool's hello, wsql's
// capability).
//
//   ws_hold --port P --conns N --hold S [--path /worker] [--renew] [--every S]
//
// Opens N WebSocket connections to PATH and sends nothing on them, ever.
// With --renew, a connection the server closes or refuses is opened again
// (the attack renews itself). Every --every seconds and at the end it prints
// one JSON line:
//
//   {"t":S,"open":now,"peak":most at once,"upgraded":101s seen,
//    "closed":closed by the server after the 101,"refused":closed or
//    answered non-101 before it}
//
// It stops by itself after --hold seconds (then closes everything).
//
// One thread, epoll, no libwebsockets: the tool should cost the machine as
// little as possible next to the server it attacks. The upgrade request is
// bench/ws_client.h's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ws_client.h"

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string path = "/";
  int port = 0;
  int conns = 1000;
  double hold_s = 10;
  double every_s = 0;  // 0: only the final line
  bool renew = false;
  int in_flight = 256;  // handshakes at once: a burst of SYNs overflows the backlog
};

enum class State { kIdle, kConnecting, kUpgrading, kOpen };

// One slot per connection; a renewed connection reuses its slot.
struct Conn {
  int fd = -1;
  State state = State::kIdle;
  std::string in;  // bytes received and not yet parsed
};

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "ws_hold: error: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

class Hold {
 public:
  explicit Hold(const Options& o) : o_(o), conns_(static_cast<size_t>(o.conns)) {
    ep_ = epoll_create1(0);
    if (ep_ < 0) die("epoll_create1");
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &addr_.sin_addr) != 1) {
      errno = EINVAL;
      die("--host");
    }
  }

  void run() {
    const double t0 = now_s(), end = t0 + o_.hold_s;
    double next_report = o_.every_s > 0 ? t0 + o_.every_s : end + 1;
    size_t next = 0;  // first slot not yet opened once
    for (double t = t0; t < end; t = now_s()) {
      // Open the slots never opened, and (with --renew) the ones lost.
      for (size_t i = 0; i < conns_.size() && handshakes_ < o_.in_flight; ++i) {
        if (conns_[i].state != State::kIdle) continue;
        if (i >= next)
          next = i + 1;
        else if (!o_.renew)
          continue;
        open(i);
      }
      if (t >= next_report) {
        report(t - t0);
        next_report += o_.every_s;
      }
      poll(50);
    }
    report(now_s() - t0);
  }

 private:
  void open(size_t i) {
    Conn& c = conns_[i];
    c.fd = ws_client::open_connection(ep_, addr_, EPOLLIN | EPOLLOUT, i);
    if (c.fd < 0 && (errno == EMFILE || errno == ENFILE)) die("socket (raise ulimit -n)");
    c.state = State::kConnecting;
    ++handshakes_;
    if (c.fd < 0) lose(c);
  }

  // The server closed or refused `c`; its slot may be opened again.
  void lose(Conn& c) {
    if (c.state == State::kOpen) {
      --open_;
      ++closed_;
    } else {
      --handshakes_;
      ++refused_;
    }
    ::close(c.fd);
    c.fd = -1;
    c.in.clear();
    c.state = State::kIdle;
  }

  void poll(int ms) {
    epoll_event evs[512];
    const int n = epoll_wait(ep_, evs, 512, ms);
    for (int k = 0; k < n; ++k) {
      Conn& c = conns_[evs[k].data.u64];
      if (c.state == State::kIdle) continue;
      if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
        lose(c);
        continue;
      }
      if (c.state == State::kConnecting && (evs[k].events & EPOLLOUT)) upgrade(c, evs[k].data.u64);
      if (evs[k].events & EPOLLIN) receive(c);
    }
  }

  void upgrade(Conn& c, uint64_t i) {
    c.state = State::kUpgrading;
    ws_client::watch(ep_, c.fd, EPOLLIN, i);
    const std::string r =
        ws_client::upgrade_request(o_.path, o_.host + ":" + std::to_string(o_.port));
    if (::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(r.size())) lose(c);
  }

  void receive(Conn& c) {
    if (!ws_client::read_available(c.fd, c.in)) return lose(c);
    if (c.state == State::kOpen) {
      // A close frame is answered the way a browser does: by closing.
      bool closing = false;
      ws_client::take_frames(c.in, [&](unsigned op, std::string_view) { closing |= op == 8; });
      if (closing) lose(c);
      return;
    }
    const ws_client::Upgrade up = ws_client::take_upgrade(c.in);
    if (up == ws_client::Upgrade::kPending) return;
    if (up == ws_client::Upgrade::kRefused) return lose(c);
    c.state = State::kOpen;
    --handshakes_;
    ++upgraded_;
    if (++open_ > peak_) peak_ = open_;
    receive(c);  // a close frame may have come with the 101
  }

  void report(double t) {
    std::printf(
        "{\"t\":%.1f,\"open\":%d,\"peak\":%d,\"upgraded\":%ld,\"closed\":%ld,\"refused\":%ld}\n", t,
        open_, peak_, upgraded_, closed_, refused_);
    std::fflush(stdout);
  }

  Options o_;
  std::vector<Conn> conns_;
  sockaddr_in addr_{};
  int ep_ = -1;
  int handshakes_ = 0, open_ = 0, peak_ = 0;
  long upgraded_ = 0, closed_ = 0, refused_ = 0;
};

void usage() {
  std::fputs(
      "Usage: ws_hold --port P [--host H] [--path PATH] [--conns N] [--hold S]\n"
      "               [--every S] [--renew]\n"
      "Holds N WebSocket connections that send nothing, for S seconds.\n"
      "Example: ws_hold --port 7070 --path /worker --conns 10000 --hold 30 --renew\n",
      stdout);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(), std::exit(0);
    if (a == "--renew") {
      o.renew = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ws_hold: error: %s needs a value\n", a.c_str());
      std::exit(2);
    }
    const std::string v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--path")
      o.path = v;
    else if (a == "--port")
      o.port = std::atoi(v.c_str());
    else if (a == "--conns")
      o.conns = std::atoi(v.c_str());
    else if (a == "--hold")
      o.hold_s = std::atof(v.c_str());
    else if (a == "--every")
      o.every_s = std::atof(v.c_str());
    else {
      std::fprintf(stderr, "ws_hold: error: unknown option '%s'\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.port <= 0 || o.port > 65535 || o.conns <= 0 || o.conns > 1000000 || o.hold_s <= 0 ||
      o.hold_s > 3600 || o.every_s < 0) {
    std::fputs("ws_hold: error: --port, --conns, --hold or --every out of range\n", stderr);
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Hold(parse(argc, argv)).run();
  return 0;
}
