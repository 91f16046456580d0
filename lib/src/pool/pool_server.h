// The pool server: the service around the scheduler (scheduler.h), over
// one net::Server. Workers connect on /worker, clients (wpool submit,
// status, ...) on /client; see w-protocol(7) for the messages. It decodes
// each message (proto/), checks who may send it (auth.cc), hands it to the
// scheduler with the time it read once, sends what the scheduler decided,
// and answers clients and HTTP (requests.cc, api.cc).
//
// Durability: state changes go into the store's open transaction; a commit
// follows at the end of the loop turn when an acknowledgement waits for it
// (`after_commit_`), else within kCommitDelayMs, and before any client
// request or HTTP query is answered (observe()), so nothing a client has
// seen can be lost.
//
// REQUIRES: everything runs on the server thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "../proto/client_messages.h"
#include "../proto/worker_messages.h"
#include "history.h"
#include "scheduler.h"
#include "store.h"
#include "w/msgpack.h"
#include "w/net.h"
#include "w/pool.h"

namespace w::pool {

/// A campaign's state in the one vocabulary every view uses (w-protocol(7)
/// "Campaign states"): running, paused, done or cancelled.
const char* campaign_state(const CampaignRow& row);

class PoolServer : public net::Handler {
 public:
  PoolServer(const ServeOptions& options, Store& store);
  Status load();  ///< reads campaigns and counts from the store
  Status save();  ///< stores the results that wait and commits (at the end)
  void attach(net::Server& server);
  /// The failed commit the server stopped on; OK if it did not.
  const Status& store_failure() const { return store_failure_; }

  net::HttpResponse on_http(const net::HttpRequest& request) override;
  bool on_ws_open(net::ConnId id, const net::HttpRequest& request, int& refusal) override;
  void on_ws_message(net::ConnId id, std::string_view data, bool binary) override;
  void on_ws_close(net::ConnId id) override;
  void on_ws_too_large(net::ConnId id, size_t limit) override;

 private:
  using Campaign = Scheduler::Campaign;
  using Worker = Scheduler::Worker;
  using Quarantine = Scheduler::Quarantine;

  // Messages. Every message is decoded by proto/ (one checked decoder per
  // type) before a handler sees it; one that does not decode is refused.
  void reply(net::ConnId id, const std::string& message);
  void reply_after_commit(net::ConnId id, std::string message);
  /// Answers `error` (with `code` on /client) and closes the connection.
  void refuse(net::ConnId id, const std::string& why, std::string_view code = {});
  void on_worker_message(net::ConnId id, const proto::FromWorker& m);
  void on_worker_hello(net::ConnId id, const proto::WorkerHello& hello);
  void on_client_message(net::ConnId id, const proto::FromClient& m);
  /// Handles one request of a hello'd client; its answer, or why it failed.
  Status on_request(net::ConnId id, const proto::FromClient& m);
  /// The identity a worker's flag, counts and quarantine belong to.
  std::string worker_identity(net::ConnId id, const proto::WorkerHello& hello) const;

  // Capabilities (auth.cc).
  /// Checks a hello's capability or key and the right `need`; keeps the grant.
  Status authenticate(net::ConnId id, const std::string& key, const std::string& cap,
                      uint32_t need);
  /// Ok if the connection's grant holds `need` on `campaign` ("" = unscoped).
  Status permit(net::ConnId id, uint32_t need, std::string_view campaign) const;
  /// The right and campaign a client request needs, checked with permit().
  Status permit_request(net::ConnId id, const proto::FromClient& m) const;
  /// `asked`, or the one campaign a scoped grant may see when none is asked.
  std::string visible_campaign(net::ConnId id, const std::string& asked) const;
  /// The campaign a connection's grant is scoped to; "" when it is not.
  std::string scope_of(net::ConnId id) const;
  /// An HTTP request's scope ("" = every campaign) if its ?cap= (or ?key=)
  /// holds one of the rights `any_of`; Denied otherwise. Open pools: "".
  Result<std::string> http_scope(const net::HttpRequest& request, uint32_t any_of);
  /// True if kernel `sha` runs a campaign of `scope` ("" = any kernel).
  bool kernel_in_scope(const std::string& sha, const std::string& scope) const;
  /// Ids of the workers a capability scoped to `scope` may see: those ever
  /// given its tasks (stored) and those bound to it now.
  std::unordered_set<std::string> scope_workers(const std::string& scope) const;
  Status on_kernel_put(net::ConnId id, const proto::KernelPut& m);
  /// Reads the shared store again if `campaign` is not known here (made
  /// through another pool since the last sync()).
  void look_up(const std::string& campaign);
  Status on_open(net::ConnId id, const proto::Open& m);
  Status on_datasets(net::ConnId id, const proto::Datasets& m);
  Status on_results_query(net::ConnId id, const proto::ResultsQuery& m);
  Status on_control(net::ConnId id, const proto::Control& m);
  Status on_kernels(net::ConnId id);
  /// Drops `campaign` if it holds no task and no client is submitting to
  /// it: a submit that stored nothing leaves no campaign behind.
  void drop_if_empty(int64_t campaign);
  /// Why a cancelled campaign refuses datasets.
  Status cancelled_error(const std::string& name) const;
  Status on_unflag(net::ConnId id, const proto::Unflag& m);

  // Status (api.cc). `scope`: the one campaign a scoped capability may
  // see, "" for all.
  std::string status_json(const std::string& scope = {}) const;
  std::string failures_json(const std::string& scope) const;  ///< GET /api/failures
  std::string metrics_text() const;
  std::string history_json(const std::string& scope) const;  ///< GET /api/history
  void sample_history();                                     ///< every --history-interval
  std::string status_message(const std::string& campaign, const std::string& scope) const;
  std::string workers_message(const std::string& scope) const;
  net::HttpResponse kernel_http(const net::HttpRequest& request);
  /// null, or why `worker` is (or was last) quarantined and for how long.
  nlohmann::json quarantine_json(const std::string& worker) const;
  /// The last disagreements a flagged worker was flagged for.
  nlohmann::json flag_evidence_json(const std::string& worker) const;

  void schedule_commit();
  /// Commits now if anything is pending: before a client sees the state.
  void observe();
  void commit();
  /// Sends what the scheduler decided, and arms a commit if the store holds
  /// writes: the end of every event.
  void finish_event();

  ServeOptions options_;
  // The time of the event being handled: read once per event (message,
  // close, tick) and passed to the scheduler.
  Clock::time_point now_{};
  Store& store_;
  net::Server* server_ = nullptr;
  Scheduler sched_;  // campaigns, workers, leases: what the pool decides
  std::unordered_map<net::ConnId, bool> clients_;  // connected client sessions (true once hello'd)
  std::unordered_map<net::ConnId, bool> pending_worker_;  // /worker connections before hello
  std::vector<std::pair<net::ConnId, std::string>> after_commit_;
  static constexpr int kCommitDelayMs = 100;  // longest a write waits for company
  bool commit_soon_ = false, commit_later_ = false;
  Clock::time_point started_ = Clock::now();
  History history_;
  uint64_t commits_ = 0;
  uint64_t ticks_ = 0;                ///< of the 250 ms timer
  Clock::time_point last_look_up_{};  ///< look_up()'s last read of the store
  Status store_failure_;              ///< the failed commit the server stopped on, if one
  cap::Verifier verifier_;            // the --secret and --key
  std::unordered_map<net::ConnId, cap::Capability> grants_;  // per hello'd connection
  // What a client connection opened to submit to: datasets it sends to that
  // campaign count under its once-key (resumable submits, requests.cc).
  struct Submitting {
    int64_t campaign = 0;
    std::string once_key;
  };
  std::unordered_map<net::ConnId, Submitting> submitting_;
};

}  // namespace w::pool
