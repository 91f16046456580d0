// The pool server: campaigns, the scheduler and its leases, over one
// net::Server. Workers connect on /worker, clients (wpool submit, status,
// ...) on /client; see w-protocol(7) for the messages.
//
// Scheduling: each worker is bound to one campaign at a time and kept
// `slots + prefetch` tasks deep, prefetch growing as its tasks get shorter,
// so no slot waits on a round trip. A task handed to a worker is leased with
// a deadline; a lost worker or a missed deadline puts it back at the front
// of its campaign's queue. Queues hold a bounded window of tasks loaded from
// the store, so a campaign of any size costs constant memory.
//
// Durability: state changes go into the store's open transaction; a commit
// is scheduled for the end of the loop turn, and acknowledgements to
// clients wait for it (`after_commit_`).
//
// REQUIRES: everything runs on the server thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store.h"
#include "w/msgpack.h"
#include "w/net.h"
#include "w/pool.h"

namespace w::pool {

using Clock = std::chrono::steady_clock;

class PoolServer : public net::Handler {
 public:
  PoolServer(const ServeOptions& options, Store& store);
  Status load();  ///< reads campaigns and counts from the store
  void attach(net::Server& server);

  net::HttpResponse on_http(const net::HttpRequest& request) override;
  bool on_ws_open(net::ConnId id, const net::HttpRequest& request, int& refusal) override;
  void on_ws_message(net::ConnId id, std::string_view data, bool binary) override;
  void on_ws_close(net::ConnId id) override;

 private:
  struct Campaign {
    CampaignRow row;
    std::deque<TaskRow> ready;     // loaded from the store, not yet leased
    std::deque<TaskRow> requeued;  // came back from a lost lease or a failed attempt
    int64_t cursor = 0;            // highest task id loaded from the store
    bool store_exhausted = false;  // nothing queued beyond cursor
    int64_t leased = 0;
    double done_rate = 0;  // results per second, smoothed
    int64_t done_last_tick = 0;
    bool has_work() const { return !ready.empty() || !requeued.empty() || !store_exhausted; }
    bool complete() const { return row.done + row.failed >= row.total; }
  };
  struct Lease {
    TaskRow task;
    Clock::time_point deadline;
  };
  struct Worker {
    net::ConnId conn = 0;
    WorkerRow row;
    int64_t campaign = 0;  // bound campaign; 0 = none
    std::unordered_map<int64_t, Lease> leases;
    Clock::time_point last_heard;
    double avg_ms = -1;
    bool draining = false;
  };

  // Messages.
  void reply(net::ConnId id, const std::string& message);
  void reply_after_commit(net::ConnId id, std::string message);
  void refuse(net::ConnId id, const std::string& why);
  void on_worker_message(net::ConnId id, const mp::MapView& m, const std::string& type);
  void on_client_message(net::ConnId id, const mp::MapView& m, const std::string& type);
  Status on_hello(net::ConnId id, const mp::MapView& m);
  Status on_results(Worker& w, const mp::MapView& m);
  Status on_kernel_put(net::ConnId id, const mp::MapView& m);
  Status on_open(net::ConnId id, const mp::MapView& m);
  Status on_datasets(net::ConnId id, const mp::MapView& m);
  Status on_results_query(net::ConnId id, const mp::MapView& m);
  Status on_control(net::ConnId id, const mp::MapView& m);

  // Scheduling (scheduler.cc).
  void top_up(Worker& w);
  void top_up_all();
  Campaign* pick_campaign(const Worker& w);
  bool take_task(Campaign& c, TaskRow& task);
  int prefetch(const Worker& w) const;
  void release_leases(Worker& w, const std::string& why);
  void check_deadlines();
  void finish_task(Worker& w, int64_t task, bool ok, std::string_view output,
                   const std::string& error, double ms);

  // Status (api.cc).
  std::string status_json() const;
  std::string metrics_text() const;
  std::string status_message(const std::string& campaign) const;
  std::string workers_message() const;

  void schedule_commit();
  void commit();

  ServeOptions options_;
  Store& store_;
  net::Server* server_ = nullptr;
  std::map<int64_t, Campaign> campaigns_;
  std::map<std::string, int64_t> by_name_;
  std::unordered_map<net::ConnId, Worker> workers_;
  std::unordered_map<net::ConnId, bool> clients_;  // connected client sessions (true once hello'd)
  std::unordered_map<net::ConnId, bool> pending_worker_;  // /worker connections before hello
  std::vector<std::pair<net::ConnId, std::string>> after_commit_;
  bool commit_scheduled_ = false;
  Clock::time_point started_ = Clock::now();
  uint64_t results_total_ = 0, failures_total_ = 0, requeues_total_ = 0, commits_ = 0;
};

}  // namespace w::pool
