// The scheduler over a fresh pool file, driven by events with a fake clock:
// the fixture of scheduler_test.cc and speculate_test.cc.
#pragma once

#include "../../../lib/src/pool/scheduler.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "w/diag.h"

// The scheduler's rules, one per test, driven by events with a fake clock
// (a time_point the test moves by hand) over a real store in a temporary
// file: no socket, no server, no wall clock.

using namespace w::pool;
using namespace std::chrono_literals;

namespace {

constexpr const char* kInput = "\x81\xa1x\x01";  // {"x": 1}
constexpr int64_t kUnixNow = 1'800'000'000;      // the fake wall clock

// The scheduler over a fresh pool file, and what it decided so far, by
// connection.
struct Pool {
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Scheduler> s;
  Clock::time_point now = Clock::time_point(1h);  // the fake clock
  std::map<w::net::ConnId, std::vector<TaskGrant>> tasks;
  std::map<w::net::ConnId, std::vector<BindCampaign>> binds;
  std::map<w::net::ConnId, std::vector<w::proto::Abort>> aborts;
  std::map<w::net::ConnId, std::vector<CloseConn>> closes;

  int verbosity = w::diag::verbosity();
  bool commit_each = true;  ///< result() stores what waits, as a commit would

  /// `worker_timeout`: seconds of silence before a worker is dropped.
  explicit Pool(double worker_timeout = 60) {
    w::diag::set_verbosity(-1);  // joins, flags and aborts are logged: not here
    std::string tmpl = (std::filesystem::temp_directory_path() / "wkit-sched-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    auto opened = Store::open((dir / "pool.db").string());
    REQUIRE(opened.ok());
    store = std::move(*opened);
    REQUIRE(store->put_kernel("sha", "k.so", "linux-x86_64", "ELF").ok());
    s = std::make_unique<Scheduler>(*store, worker_timeout, [] { return kUnixNow; });
    REQUIRE(s->load().ok());
  }
  ~Pool() {
    s.reset();
    store.reset();
    std::filesystem::remove_all(dir);
    w::diag::set_verbosity(verbosity);
  }

  // Opens a campaign and adds `n` tasks, as a submit does; returns its id.
  int64_t campaign(const std::string& name, int n, CampaignSpec spec = {}) {
    spec.name = name;
    spec.kernel_sha = "sha";
    auto id = store->create_campaign(spec);
    REQUIRE(id.ok());
    CampaignRow row;
    row.id = *id;
    row.spec = spec;
    row.state = "running";
    s->campaign_created(row);
    for (int i = 0; i < n; ++i) REQUIRE(store->add_task(*id, i, kInput).ok());
    s->tasks_added(*id, n, now);
    REQUIRE(store->commit().ok());
    collect();
    return *id;
  }
  void join(w::net::ConnId conn, int slots, double score = 1000, bool coupled = true) {
    WorkerRow row;
    row.id = "w" + std::to_string(conn);
    row.name = row.id;
    row.platform = "linux-x86_64";
    row.slots = slots;
    row.score = score;
    s->worker_joined(conn, row, coupled, "", now);
    collect();
  }
  void leave(w::net::ConnId conn) {
    s->worker_left(conn, now, 0);
    collect();
  }
  // One result (an error when `error` is set) for `task` from `conn`.
  void result(w::net::ConnId conn, int64_t task, std::string_view output = "\x01",
              const std::string& error = "", double ms = 10, std::optional<int> rank = {}) {
    w::proto::Results m;
    w::proto::ResultItem item;
    item.task = task;
    item.ok = error.empty();
    item.output = output;
    item.error = error;
    item.ms = ms;
    item.rank = rank;
    m.items.push_back(item);
    s->heard(conn, now);
    REQUIRE(s->results(conn, m, now).ok());
    // The server stores waiting results at its next commit; here each
    // message is followed by one, unless a test looks at the wait itself.
    if (commit_each) s->store_results();
    collect();
  }
  void tick(Clock::duration later) {
    now += later;
    s->tick(now);
    collect();
  }
  void collect() {
    for (Decision& d : s->take_decisions()) {
      if (auto* t = std::get_if<SendTasks>(&d.action))
        for (auto& item : t->items) tasks[d.conn].push_back(std::move(item));
      else if (auto* b = std::get_if<BindCampaign>(&d.action))
        binds[d.conn].push_back(std::move(*b));
      else if (auto* a = std::get_if<w::proto::Abort>(&d.action))
        aborts[d.conn].push_back(std::move(*a));
      else if (auto* c = std::get_if<CloseConn>(&d.action))
        closes[d.conn].push_back(std::move(*c));
    }
  }
  // Task ids handed to `conn` since the last call.
  std::vector<int64_t> given(w::net::ConnId conn) {
    std::vector<int64_t> ids;
    for (const TaskGrant& t : tasks[conn]) ids.push_back(t.id);
    tasks[conn].clear();
    return ids;
  }
  // The lowest task id `conn` holds a lease of (INT64_MAX: none).
  int64_t oldest(w::net::ConnId conn) const {
    int64_t id = INT64_MAX;
    for (const auto& [task, lease] : s->workers().at(conn).leases) id = std::min(id, task);
    return id;
  }
  size_t held(w::net::ConnId conn) const { return s->workers().at(conn).leases.size(); }
  const Scheduler::Campaign& camp(int64_t id) const { return *s->campaign(id); }
};

}  // namespace
