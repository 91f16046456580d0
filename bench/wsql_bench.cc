// wsql_bench: load for bench/wsql.sh, through the same Client as `wsql`.
//
//   wsql_bench select URL --clients 2 --window 64 --seconds 10 --keys 100000
//       point selects by primary key (pgbench -S's query)
//   wsql_bench insert URL --clients 1 --window 64 --seconds 10 [--rows N]
//       single-row inserts, each its own request, acknowledged only after
//       the group commit that wrote it
// Each of --clients threads holds one WebSocket with --window requests in
// flight (clients x window in all, the figure to compare with pgbench -c),
// for the seconds or --rows requests, whichever ends first. Prints one JSON
// line: {"ops_per_s", "p50_ms", "p99_ms", "in_flight"}, latency from a
// request's send to its answer.
//
// The table is pgbench's: accounts(aid INTEGER PRIMARY KEY, bid, abalance,
// filler) for select, and history(tid, bid, aid, delta, mtime) for insert.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
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

// Key i of a run, spread over 1..keys like pgbench's random(): splitmix64
// of the request's number, so connections need no shared generator.
long random_key(long i, long keys) {
  uint64_t z = static_cast<uint64_t>(i) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<long>(z % static_cast<uint64_t>(keys)) + 1;
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

// What one connection did: requests answered, and each one's latency
// (send to answer, seconds).
struct Tally {
  long done = 0;
  std::vector<double> latencies;
  w::Status status;
};

// One connection: keeps `window` requests in flight until `stop` (or
// `limit` requests are sent), each made by `make(i)`; answers come in
// order, so each one's latency is from the oldest send still waiting.
template <class Make>
void run_connection(const Options& o, Make make, long first, long limit, std::atomic<bool>& stop,
                    Tally& t) {
  auto c = connect(o.url);
  if (!c.ok()) {
    t.status = c.status();
    return;
  }
  std::deque<std::chrono::steady_clock::time_point> sent_at;
  long sent = 0;
  auto sending = [&] { return !stop.load(std::memory_order_relaxed) && sent < limit; };
  while (sending() || !sent_at.empty()) {
    while (sending() && static_cast<int>(sent_at.size()) < o.window) {
      sent_at.push_back(std::chrono::steady_clock::now());
      if (t.status = (*c)->send(make(first + sent)); !t.status.ok()) return;
      ++sent;
    }
    auto r = (*c)->receive();
    if (!r.ok()) {
      t.status = r.status();
      return;
    }
    t.latencies.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sent_at.front()).count());
    sent_at.pop_front();
    ++t.done;
  }
}

// Runs `clients` connections for the seconds (or until `rows` in all) and
// prints {"ops_per_s", "p50_ms", "p99_ms", "in_flight"}.
template <class Make>
int run(const Options& o, Make make) {
  std::atomic<bool> stop{false};
  std::vector<Tally> tallies(static_cast<size_t>(o.clients));
  std::vector<std::thread> threads;
  const long per_client = o.rows / o.clients + 1;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < o.clients; ++i)
    threads.emplace_back([&, i] {
      run_connection(o, make, i * per_client, per_client, stop, tallies[static_cast<size_t>(i)]);
    });
  // Stop at the time, or earlier once every connection has ended (--rows).
  const auto end = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(o.seconds));
  for (;;) {
    long done = 0;
    for (const Tally& t : tallies) done += t.done;
    if (std::chrono::steady_clock::now() >= end || done >= o.rows) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  long done = 0;
  for (const Tally& t : tallies) {
    if (!t.status.ok()) {
      std::fprintf(stderr, "wsql_bench: %s\n", t.status.message().c_str());
      return 1;
    }
    done += t.done;
    all.insert(all.end(), t.latencies.begin(), t.latencies.end());
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf("{\"ops_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"in_flight\":%d}\n",
              static_cast<double>(done) / secs, pct(0.5) * 1000, pct(0.99) * 1000,
              o.clients * o.window);
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
  app.add_option("--clients", o.clients, "Connections, each keeping --window requests in flight")
      ->check(CLI::Range(1, 256));
  app.add_option("--window", o.window, "Requests in flight per connection")
      ->check(CLI::Range(1, 100000));
  app.add_option("--seconds", o.seconds, "Duration")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--keys", o.keys, "Keys 1..N to pick from (select)")
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--rows", o.rows, "At most this many requests in all")
      ->check(CLI::Range(1L, 1L << 40));
  CLI11_PARSE(app, argc, argv);
  if (mode == "select")
    return run(o, [keys = o.keys](long i) { return select_request(random_key(i, keys)); });
  return run(o, insert_request);
}
