// What the pool tells about itself: GET /api/status and /api/history
// (JSON), GET /metrics (Prometheus text), and the status/workers answers to
// clients (msgpack). Every one of them names a campaign's state with
// campaign_state(), so the table, JSON, metrics and dashboard agree.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "ice.h"
#include "pool_server.h"
#include "process_metrics.h"
#include "w/diag.h"
#include "www.h"

namespace w::pool {
namespace {

// Text from the store may predate proto/'s UTF-8 checks: never let a bad
// byte throw out of a status answer (it would end the server).
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Every state a campaign can be in, for /metrics (each listed, 0 or not).
constexpr const char* kCampaignStates[] = {"running", "paused", "done", "cancelled"};

nlohmann::json campaign_json(const CampaignRow& r, int64_t leased, double rate) {
  const int64_t left = r.total - r.done - r.failed;
  // Only a running campaign gets anywhere: no ETA for a paused or
  // cancelled one (its rate decays towards 0, the ETA to absurd values).
  const bool moving = r.state == "running" && rate > 0;
  return {{"id", r.id},
          {"name", r.spec.name},
          {"state", campaign_state(r)},
          {"kernel", r.spec.kernel_sha},
          {"kernel_wasm", r.spec.kernel_wasm},
          {"total", r.total},
          {"done", r.done},
          {"failed", r.failed},
          {"leased", leased},
          {"queued", left - leased},
          {"rate", rate},
          {"eta_s", moving ? static_cast<double>(left) / rate : -1},
          {"complete", left == 0},
          {"priority", r.spec.priority},
          {"replicas", r.spec.replicas},
          {"quorum", r.spec.quorum},
          {"quorum_tolerance", r.spec.quorum_tolerance},
          {"group", r.spec.group},
          {"speculate", r.spec.speculate},
          {"created", r.created}};
}

// A worker's last heartbeat figure, or null when it did not tell.
template <typename T>
nlohmann::json known(T value) {
  return value < 0 ? nlohmann::json(nullptr) : nlohmann::json(value);
}

}  // namespace

// The store keeps what wpool set (running, paused, cancelled); a campaign
// whose every task has finished is done unless it was cancelled. A later
// submit to a done campaign makes it running again.
const char* campaign_state(const CampaignRow& row) {
  if (row.state == "cancelled") return "cancelled";
  if (row.done + row.failed >= row.total) return "done";
  return row.state == "paused" ? "paused" : "running";
}

void PoolServer::sample_history() {
  HistorySample s;
  s.t = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  s.results_total = sched_.counters().results_total;
  for (const auto& [conn, w] : sched_.workers()) {
    ++s.workers;
    s.slots += w.row.slots;
    s.leased += w.busy();
  }
  // The newest campaigns that are not finished, and those that finished
  // since the last sample (so their last point and state are drawn), up to
  // History::kCampaigns.
  std::set<std::string> active_before;
  if (const HistorySample* last = history_.last())
    for (const HistoryCampaign& c : last->campaigns)
      if (c.state == "running" || c.state == "paused") active_before.insert(c.name);
  for (auto it = sched_.campaigns().rbegin(); it != sched_.campaigns().rend(); ++it) {
    const Campaign& c = it->second;
    const std::string state = campaign_state(c.row);
    if ((state == "done" || state == "cancelled") && !active_before.count(c.row.spec.name))
      continue;
    const int64_t leased = sched_.in_flight(c);
    s.campaigns.push_back({c.row.spec.name, state, c.done_rate, c.row.total, c.row.done,
                           c.row.failed, leased, c.row.total - c.row.done - c.row.failed - leased});
    if (s.campaigns.size() == History::kCampaigns) break;
  }
  history_.add(std::move(s));
}

std::string PoolServer::history_json(const std::string& scope) const {
  return dump(history_.json(options_.history_interval, scope));
}

std::unordered_set<std::string> PoolServer::scope_workers(const std::string& scope) const {
  std::unordered_set<std::string> ids;
  const Campaign* c = sched_.campaign(scope);
  if (!c) return ids;
  if (auto rows = store_.campaign_workers(c->row.id); rows.ok())
    ids.insert(rows->begin(), rows->end());
  for (const auto& [conn, w] : sched_.workers())
    if (w.campaign == c->row.id) ids.insert(w.row.id);
  return ids;
}

std::string PoolServer::status_json(const std::string& scope) const {
  nlohmann::json campaigns = nlohmann::json::array();
  for (const auto& [id, c] : sched_.campaigns())
    if (scope.empty() || c.row.spec.name == scope)
      campaigns.push_back(campaign_json(c.row, sched_.in_flight(c), c.done_rate));
  const auto mine = scope.empty() ? std::unordered_set<std::string>() : scope_workers(scope);
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& [conn, w] : sched_.workers())
    if (scope.empty() || mine.count(w.row.id))
      workers.push_back({{"id", w.row.id},
                         {"name", w.row.name},
                         {"platform", w.row.platform},
                         {"slots", w.row.slots},
                         {"score", w.row.score},
                         {"tasks_done", w.row.tasks_done},
                         {"tasks_failed", w.row.tasks_failed},
                         {"flagged", w.row.flagged},
                         {"disagreements", w.row.disagreements},
                         {"leased", w.busy()},
                         {"load", known(w.load)},
                         {"rss", known(w.rss)},
                         {"members", w.members.size()},
                         {"campaign", w.campaign}});
  const double up = std::chrono::duration<double>(Clock::now() - started_).count();
  nlohmann::json j = {{"version", proto::kProtocolVersion},
                      {"uptime_s", up},
                      {"campaigns", campaigns},
                      {"workers", workers}};
  // The counters of the whole pool, or for a scoped capability its
  // campaign's (the dashboard draws its rate from them either way).
  j["results_total"] = sched_.counters().results_total;
  j["failures_total"] = sched_.counters().failures_total;
  if (!scope.empty()) {
    const Campaign* c = sched_.campaign(scope);
    const CampaignRow* r = c ? &c->row : nullptr;
    j["results_total"] = r ? r->done + r->failed : 0;
    j["failures_total"] = r ? r->failed : 0;
  }
  return dump(j);
}

// The last failed tasks of every campaign that has some, with their errors.
std::string PoolServer::failures_json(const std::string& scope) const {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& [id, c] : sched_.campaigns()) {
    if (c.row.failed == 0 || (!scope.empty() && c.row.spec.name != scope)) continue;
    auto rows = store_.failures(id, 20);
    if (!rows.ok()) continue;
    for (const ResultRow& r : *rows)
      items.push_back({{"campaign", c.row.spec.name},
                       {"task", r.task},
                       {"seq", r.seq},
                       {"error", r.error},
                       {"worker", r.worker}});
  }
  return dump(nlohmann::json{{"failures", items}});
}

std::string PoolServer::metrics_text() const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("wpool_campaigns", "gauge", "Campaigns by state.");
  std::map<std::string, int> by_state;
  for (const char* state : kCampaignStates) by_state[state] = 0;
  for (const auto& [id, c] : sched_.campaigns()) ++by_state[campaign_state(c.row)];
  for (const auto& [state, n] : by_state)
    out += fmt::format("wpool_campaigns{{state=\"{}\"}} {}\n", state, n);
  metric("wpool_tasks", "gauge", "Tasks by state, over all campaigns.");
  int64_t done = 0, failed = 0, leased = 0, queued = 0;
  for (const auto& [id, c] : sched_.campaigns()) {
    done += c.row.done;
    failed += c.row.failed;
    leased += sched_.in_flight(c);
    queued += c.row.total - c.row.done - c.row.failed - sched_.in_flight(c);
  }
  out += fmt::format("wpool_tasks{{state=\"queued\"}} {}\nwpool_tasks{{state=\"leased\"}} {}\n",
                     queued, leased);
  out += fmt::format("wpool_tasks{{state=\"done\"}} {}\nwpool_tasks{{state=\"failed\"}} {}\n", done,
                     failed);
  metric("wpool_results_total", "counter", "Results stored since start.");
  out += fmt::format("wpool_results_total {}\n", sched_.counters().results_total);
  metric("wpool_requeues_total", "counter", "Leases returned to the queue since start.");
  out += fmt::format("wpool_requeues_total {}\n", sched_.counters().requeues_total);
  metric("wpool_workers", "gauge", "Connected workers by platform.");
  std::map<std::string, int> platforms;
  for (const auto& [conn, w] : sched_.workers()) ++platforms[w.row.platform];
  for (const auto& [p, n] : platforms)
    out += fmt::format("wpool_workers{{platform=\"{}\"}} {}\n", p, n);
  metric("wpool_queue_depth", "gauge", "Tasks held by each worker.");
  for (const auto& [conn, w] : sched_.workers())
    out += fmt::format("wpool_queue_depth{{worker=\"{}\"}} {}\n", w.row.id, w.busy());
  metric("wpool_votes_total", "counter", "Replica results of replicated campaigns since start.");
  out += fmt::format("wpool_votes_total {}\n", sched_.counters().votes_total);
  metric("wpool_disagreements_total", "counter",
         "Replica results that disagreed with an accepted quorum.");
  out += fmt::format("wpool_disagreements_total {}\n", sched_.counters().disagreements_total);
  metric("wpool_quarantines_total", "counter",
         "Workers quarantined for failing far more than others.");
  out += fmt::format("wpool_quarantines_total {}\n", sched_.counters().quarantines_total);
  metric("wpool_no_quorum_total", "counter", "Tasks failed for want of a quorum.");
  out += fmt::format("wpool_no_quorum_total {}\n", sched_.counters().no_quorum_total);
  metric("wpool_workers_flagged", "gauge", "Workers flagged for disagreeing, connected or not.");
  out += fmt::format("wpool_workers_flagged {}\n", sched_.flagged_count());
  metric("wpool_group_runs_total", "counter", "Group runs of coupled campaigns started.");
  out += fmt::format("wpool_group_runs_total {}\n", sched_.counters().group_runs_total);
  metric("wpool_group_aborts_total", "counter",
         "Group runs aborted: a member failed, was lost or missed the deadline.");
  out += fmt::format("wpool_group_aborts_total {}\n", sched_.counters().group_aborts_total);
  // Not wpool_group_runs: that is the family of wpool_group_runs_total.
  metric("wpool_group_runs_running", "gauge", "Group runs running now.");
  out += fmt::format("wpool_group_runs_running {}\n", sched_.groups().size());
  metric("wpool_speculative_copies_total", "counter",
         "Second copies of a campaign's last running tasks run on idle slots.");
  out += fmt::format("wpool_speculative_copies_total {}\n",
                     sched_.counters().speculative_copies_total);
  metric("wpool_speculative_wins_total", "counter",
         "Tasks whose speculative copy returned the result before the original.");
  out += fmt::format("wpool_speculative_wins_total {}\n", sched_.counters().speculative_wins_total);
  metric("wpool_speculative_discarded_total", "counter",
         "Results of a task's other copy, ignored: the task was already decided.");
  out += fmt::format("wpool_speculative_discarded_total {}\n",
                     sched_.counters().speculative_discarded_total);
  metric("wpool_results_discarded_total", "counter",
         "Results not stored: their task was done already (a late or second copy, or another "
         "pool's result came first).");
  out +=
      fmt::format("wpool_results_discarded_total {}\n", sched_.counters().results_discarded_total);
  metric("wpool_tasks_released_total", "counter",
         "Claimed tasks handed back to the shared store unrun, for other pools' workers.");
  out += fmt::format("wpool_tasks_released_total {}\n", sched_.counters().tasks_released_total);
  metric("wpool_checkpoints_total", "counter", "Task checkpoints stored since start.");
  out += fmt::format("wpool_checkpoints_total {}\n", sched_.counters().checkpoints_total);
  metric("wpool_checkpoints_ignored_total", "counter",
         "Checkpoints ignored: the sender held no lease of the task, or it is replicated.");
  out += fmt::format("wpool_checkpoints_ignored_total {}\n", sched_.counters().checkpoints_ignored);
  metric("wpool_checkpoints_kept", "gauge", "Tasks with a stored checkpoint.");
  out += fmt::format("wpool_checkpoints_kept {}\n", sched_.checkpointed_count());
  metric("wpool_commits_total", "counter", "Store transactions committed.");
  out += fmt::format("wpool_commits_total {}\n", commits_);
  const net::ServerStats& s = server_->stats();
  metric("wpool_bytes_in_total", "counter", "Bytes received.");
  out += fmt::format("wpool_bytes_in_total {}\n", s.bytes_in);
  metric("wpool_bytes_out_total", "counter", "Bytes sent.");
  out += fmt::format("wpool_bytes_out_total {}\n", s.bytes_out);
  metric("wpool_connections", "gauge", "Open WebSocket connections.");
  out += fmt::format("wpool_connections {}\n", s.ws_open_now);
  net::append_admission_metrics(out, "wpool", s);
  append_process_metrics(out);
  return out;
}

std::string PoolServer::status_message(const std::string& campaign,
                                       const std::string& scope) const {
  nlohmann::json j = nlohmann::json::parse(status_json(scope));
  if (!campaign.empty()) {
    nlohmann::json only = nlohmann::json::array();
    for (auto& c : j["campaigns"])
      if (c["name"] == campaign) only.push_back(c);
    j["campaigns"] = only;
  }
  std::string body;
  if (!mp::from_json(dump(j), body).ok()) body = "\x80";  // JSON we wrote ourselves: never
  return proto::encode(proto::StatusAnswer{body});
}

nlohmann::json PoolServer::quarantine_json(const std::string& worker) const {
  auto it = sched_.quarantines().find(worker);
  if (it == sched_.quarantines().end()) return nullptr;
  const Quarantine& q = it->second;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(q.until - Clock::now());
  return {{"active", q.until > Clock::now()},
          {"seconds_left", q.until > Clock::now() ? static_cast<double>(left.count()) / 1000 : 0},
          {"times", q.times},
          {"why", q.why}};
}

nlohmann::json PoolServer::flag_evidence_json(const std::string& worker) const {
  nlohmann::json list = nlohmann::json::array();
  auto rows = store_.flag_evidence(worker, 3);
  if (!rows.ok()) return list;
  auto as_json = [](const std::string& msgpack) {
    std::string text;
    if (!mp::to_json(msgpack, text, 4096).ok()) return nlohmann::json("(too large to show)");
    auto j = nlohmann::json::parse(text, nullptr, false);
    return j.is_discarded() ? nlohmann::json(nullptr) : j;
  };
  for (const FlagRow& f : *rows)
    list.push_back({{"task", f.task},
                    {"campaign", f.campaign},
                    {"at", f.at},
                    {"output", as_json(f.output)},
                    {"accepted", as_json(f.accepted)}});
  return list;
}

std::string PoolServer::workers_message(const std::string& scope) const {
  nlohmann::json list = nlohmann::json::array();
  auto rows = store_.workers();
  std::map<std::string, const Worker*> live;
  for (const auto& [conn, w] : sched_.workers()) live[w.row.id] = &w;
  const auto mine = scope.empty() ? std::unordered_set<std::string>() : scope_workers(scope);
  if (rows.ok()) {
    for (const WorkerRow& r : *rows) {
      if (!scope.empty() && !mine.count(r.id)) continue;
      const WorkerRow& row = live.count(r.id) ? live[r.id]->row : r;
      list.push_back(
          {{"id", row.id},
           {"name", row.name},
           {"platform", row.platform},
           {"slots", row.slots},
           {"score", row.score},
           {"tasks_done", row.tasks_done},
           {"tasks_failed", row.tasks_failed},
           {"flagged", row.flagged},
           {"disagreements", row.disagreements},
           {"quarantined", quarantine_json(r.id)},
           {"evidence", row.flagged ? flag_evidence_json(r.id) : nlohmann::json::array()},
           {"last_seen", live.count(r.id) ? static_cast<int64_t>(std::time(nullptr)) : r.last_seen},
           {"connected", live.count(r.id) > 0}});
    }
  }
  std::string body;
  if (!mp::from_json(dump(nlohmann::json{{"items", list}}), body).ok()) body = "\x80";
  return proto::encode(proto::WorkersAnswer{body});
}

net::HttpResponse PoolServer::on_http(const net::HttpRequest& request) {
  // Status and metrics show only what a crash cannot take back; static
  // files and kernels do not need a commit.
  if (request.path == "/api/status" || request.path == "/api/failures" ||
      request.path == "/api/history" || request.path == "/metrics")
    observe();
  if (request.path == "/api/status" || request.path == "/api/failures" ||
      request.path == "/api/history") {
    auto scope = http_scope(request, kSubmit);
    if (!scope.ok()) return net::HttpResponse::text(403, scope.status().message() + "\n");
    if (request.path == "/api/history") return net::HttpResponse::json(200, history_json(*scope));
    return net::HttpResponse::json(
        200, request.path == "/api/status" ? status_json(*scope) : failures_json(*scope));
  }
  if (request.path == "/metrics") {
    net::HttpResponse r = net::HttpResponse::text(200, metrics_text());
    r.content_type = "text/plain; version=0.0.4";
    return r;
  }
  if (request.path.rfind("/kernels/", 0) == 0) return kernel_http(request);
  if (request.path == "/healthz") return net::HttpResponse::text(200, "ok\n");
  if (request.path == "/ice.json") {  // public: every volunteer's page needs it
    net::HttpResponse r = net::HttpResponse::json(200, options_.ice_json);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (auto file = www_file(options_.www, request.path)) return *file;
  return net::HttpResponse::text(404, "not found\n");
}

// GET /kernels/SHA256[.so|.wasm]: an artifact, for whoever may work on or
// submit to a campaign that runs it.
net::HttpResponse PoolServer::kernel_http(const net::HttpRequest& request) {
  std::string sha = request.path.substr(9);
  if (auto dot = sha.find('.'); dot != std::string::npos) sha.resize(dot);
  auto scope = http_scope(request, kWork | kSubmit);
  if (!scope.ok()) return net::HttpResponse::text(403, scope.status().message() + "\n");
  if (!kernel_in_scope(sha, *scope))
    return net::HttpResponse::text(
        403, fmt::format("denied: that kernel is not for campaign '{}'\n", *scope));
  auto data = store_.kernel_data(sha);
  if (!data.ok()) return net::HttpResponse::text(404, "no such kernel\n");
  net::HttpResponse r;
  r.content_type = request.path.size() > 5 && request.path.ends_with(".wasm")
                       ? "application/wasm"
                       : "application/octet-stream";
  r.body = std::move(*data);
  r.headers.emplace_back("ETag", "\"" + sha + "\"");
  r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  return r;
}

Status serve(const ServeOptions& options) {
  auto listen = net::parse_listen(options.listen);
  if (!listen.ok()) return listen.status();
  if (!options.sig.empty() && !options.sig.starts_with("ws://") &&
      !options.sig.starts_with("wss://"))
    return Status::Invalid(fmt::format("--sig '{}' is not a ws:// or wss:// URL", options.sig));
  if (options.ssl_key.empty() != options.ssl_cert.empty())
    return Status::Invalid("--sslkey and --sslcert go together");
  auto store = Store::open(options.db);
  if (!store.ok()) return store.status();
  ServeOptions resolved = options;
  auto ice = ice_json(options.ice_servers, options.ice_username, options.ice_credential);
  if (!ice.ok()) return ice.status();
  resolved.ice_json = *ice;
  resolved.www = resolve_www_dir(options.www);
  if (!resolved.www.empty()) diag::info("serving the browser app from '{}'", resolved.www);
  PoolServer pool(resolved, **store);
  W_RETURN_IF_ERROR(pool.load());
  net::ServerConfig config;
  config.host = listen->first;
  config.port = listen->second;
  config.max_message = options.max_frame;
  config.max_connections = static_cast<size_t>(options.max_connections);
  config.auth_timeout_s = options.auth_timeout;
  // Workers heartbeat and clients poll: any connection silent this long is gone.
  config.idle_timeout_s = options.worker_timeout;
  config.name = "wpool";
  config.tls_cert = options.ssl_cert;
  config.tls_key = options.ssl_key;
  auto server = net::Server::create(config, pool);
  if (!server.ok()) return server.status();
  pool.attach(**server);
  diag::info(
      "listening on {} (store '{}'{}{})", net::host_port(config.host, (*server)->port()),
      Store::shown(options.db),
      (*store)->shared() ? fmt::format(", pool {} of those sharing it", (*store)->pool_id()) : "",
      config.tls_cert.empty() ? "" : "; https and wss only");
  Status s = (*server)->run();
  diag::info("stopping");
  // A pool that stopped because its store failed exits with that failure,
  // so a supervisor (systemd's Restart=on-failure) starts it again.
  if (s.ok()) s = pool.store_failure();
  if (!s.ok()) return s;
  return pool.save();
}

}  // namespace w::pool
