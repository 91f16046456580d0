// wsql_bench: load for bench/wsql.sh, through the same Client as `wsql`.
//
//   wsql_bench select URL --clients 2 --window 64 --seconds 10 --keys 100000
//       point selects by primary key (pgbench -S's query), pipelined,
//       one thread and one WebSocket per client; prints ops/s
//   wsql_bench insert URL --window 64 --seconds 10 [--rows N]
//       single-row inserts, each its own request, acknowledged only after
//       the group commit that wrote it, for the seconds or the rows,
//       whichever ends first; prints rows/s
//
// The table is pgbench's: accounts(aid INTEGER PRIMARY KEY, bid, abalance,
// filler) for select, and history(tid, bid, aid, delta, mtime) for insert.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "w/msgpack.h"
#include "w/sql.h"

namespace {

struct Options {
  std::string url;
  int clients = 2;
  int window = 64;
  double seconds = 10;
  long keys = 100000;
  long rows = 1L << 40;
};

std::string select_request(long aid) {
  std::string req;
  w::mp::Packer pk(req);
  pk.map(3);
  pk.str("op"), pk.str("sql");
  pk.str("sql"), pk.str("SELECT abalance FROM accounts WHERE aid = ?");
  pk.str("params"), pk.array(1), pk.integer(aid);
  return req;
}

std::string insert_request(long i) {
  std::string req;
  w::mp::Packer pk(req);
  pk.map(3);
  pk.str("op"), pk.str("insert");
  pk.str("table"), pk.str("history");
  pk.str("row"), pk.map(5);
  pk.str("tid"), pk.integer(i % 10);
  pk.str("bid"), pk.integer(1);
  pk.str("aid"), pk.integer(i);
  pk.str("delta"), pk.integer(static_cast<int64_t>(i % 5000) - 2500);
  pk.str("mtime"), pk.integer(static_cast<int64_t>(i));
  return req;
}

w::Result<std::unique_ptr<w::sql::Client>> connect(const std::string& url) {
  auto t = w::sql::parse_target(url, "");
  if (!t.ok()) return t.status();
  return w::sql::Client::connect(*t, 30);
}

// One client: keeps `window` requests in flight until `stop`.
w::Status select_loop(const Options& o, int seed, std::atomic<bool>& stop,
                      std::atomic<long>& done) {
  auto c = connect(o.url);
  if (!c.ok()) return c.status();
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::uniform_int_distribution<long> key(1, o.keys);
  int in_flight = 0;
  long local = 0;
  while (!stop.load(std::memory_order_relaxed) || in_flight > 0) {
    while (!stop.load(std::memory_order_relaxed) && in_flight < o.window) {
      W_RETURN_IF_ERROR((*c)->send(select_request(key(rng))));
      ++in_flight;
    }
    auto r = (*c)->receive();
    if (!r.ok()) return r.status();
    --in_flight;
    ++local;
  }
  done += local;
  return {};
}

int run_select(const Options& o) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  std::vector<std::thread> threads;
  std::vector<w::Status> results(static_cast<size_t>(o.clients));
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < o.clients; ++i)
    threads.emplace_back(
        [&, i] { results[static_cast<size_t>(i)] = select_loop(o, i + 1, stop, done); });
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& s : results) {
    if (!s.ok()) {
      std::fprintf(stderr, "wsql_bench: %s\n", s.message().c_str());
      return 1;
    }
  }
  std::printf("%.0f\n", static_cast<double>(done.load()) / secs);
  return 0;
}

int run_insert(const Options& o) {
  auto c = connect(o.url);
  if (!c.ok()) {
    std::fprintf(stderr, "wsql_bench: %s\n", c.status().message().c_str());
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(o.seconds));
  long sent = 0, acked = 0, limit = o.rows;
  while (acked < limit) {
    // Past the time, stop sending and wait for what is in flight.
    if (limit == o.rows && std::chrono::steady_clock::now() >= end) limit = sent;
    while (sent < limit && sent - acked < o.window) {
      if (!(*c)->send(insert_request(sent)).ok()) return 1;
      ++sent;
    }
    auto r = (*c)->receive();
    if (!r.ok()) {
      std::fprintf(stderr, "wsql_bench: %s\n", r.status().message().c_str());
      return 1;
    }
    ++acked;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.0f\n", static_cast<double>(acked) / secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Load generator for bench/wsql.sh");
  Options o;
  std::string mode;
  app.add_option("mode", mode, "select or insert")
      ->required()
      ->check(CLI::IsMember({"select", "insert"}));
  app.add_option("url", o.url, "ws://HOST:PORT/DB?cap=CAP")->required();
  app.add_option("--clients", o.clients, "Connections (select)")->check(CLI::Range(1, 64));
  app.add_option("--window", o.window, "Requests in flight per connection")
      ->check(CLI::Range(1, 100000));
  app.add_option("--seconds", o.seconds, "Duration")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--keys", o.keys, "Keys 1..N to pick from (select)")
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--rows", o.rows, "At most this many rows (insert)")
      ->check(CLI::Range(1L, 1L << 40));
  CLI11_PARSE(app, argc, argv);
  return mode == "select" ? run_select(o) : run_insert(o);
}
