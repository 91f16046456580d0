// The pool server's connections: opening, hello, closing, and the
// dispatch of decoded worker and client messages (requests.cc answers the
// client requests, scheduler.cc the results).
#include "pool_server.h"

#include <fmt/format.h>

#include "../proto/fields.h"
#include "w/diag.h"
#include "w/sha256.h"

namespace w::pool {

namespace {
// "1 worker", "2 workers": a count with its noun, plural unless it is 1.
std::string count_of(long long n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}
}  // namespace

PoolServer::PoolServer(const ServeOptions& options, Store& store)
    : options_(options),
      store_(store),
      verifier_(kService, options.secret, options.key, kAllRights) {}

Status PoolServer::load() {
  auto rows = store_.campaigns();
  if (!rows.ok()) return rows.status();
  for (auto& row : *rows) {
    Campaign c;
    c.row = std::move(row);
    by_name_[c.row.spec.name] = c.row.id;
    const int64_t id = c.row.id;
    campaigns_.emplace(id, std::move(c));
    // Opened by a submit that stored nothing before the pool went down.
    drop_if_empty(id);
  }
  W_RETURN_IF_ERROR(store_.commit());
  W_RETURN_IF_ERROR(load_flagged());
  return load_checkpoints();
}

Status PoolServer::load_checkpoints() {
  auto tasks = store_.checkpointed_tasks();
  if (!tasks.ok()) return tasks.status();
  checkpointed_ = std::unordered_set<int64_t>(tasks->begin(), tasks->end());
  return {};
}

void PoolServer::attach(net::Server& server) {
  server_ = &server;
  server.every(250, [this] {
    check_deadlines(Clock::now());
    send_decisions();
  });
  sample_history();  // the first point at once, not one interval later
  server.every(static_cast<int>(options_.history_interval * 1000), [this] { sample_history(); });
}

void PoolServer::reply(net::ConnId id, const std::string& message) {
  server_->send(id, message, true);
}

void PoolServer::decide(net::ConnId conn, decltype(Decision::action) action) {
  decisions_.push_back({conn, std::move(action)});
}

void PoolServer::send_decisions() {
  // Swapped out first: nothing below decides, but a send may not be the
  // last word of this turn.
  std::vector<Decision> decisions;
  decisions.swap(decisions_);
  for (Decision& d : decisions) {
    if (auto* tasks = std::get_if<SendTasks>(&d.action)) {
      proto::TasksBuilder message(tasks->campaign);
      for (const TaskGrant& t : tasks->items) {
        proto::TaskItem item{t.id, t.seq, t.input};
        if (t.checkpoint) item.checkpoint = *t.checkpoint;
        item.group = t.group;
        item.rank = t.rank;
        item.size = t.size;
        item.browsers = t.browsers;
        message.add(item);
      }
      reply(d.conn, message.done());
    } else if (auto* bind = std::get_if<BindCampaign>(&d.action)) {
      reply(d.conn, proto::encode(proto::CampaignBind{bind->campaign, bind->name, bind->kernel,
                                                      bind->static_data, bind->timeout_ms,
                                                      bind->group}));
    } else if (auto* abort = std::get_if<proto::Abort>(&d.action)) {
      if (server_->is_open(d.conn)) reply(d.conn, proto::encode(*abort));
    } else if (auto* close = std::get_if<CloseConn>(&d.action)) {
      server_->close(d.conn, close->code, close->reason);
    }
  }
}

void PoolServer::reply_after_commit(net::ConnId id, std::string message) {
  after_commit_.emplace_back(id, std::move(message));
  schedule_commit();
}

void PoolServer::refuse(net::ConnId id, const std::string& why, std::string_view code) {
  diag::debug("connection {}: {}", id, why);
  if (auto w = workers_.find(id); w != workers_.end()) {
    w->second.violation = why;
    w->second.closing = true;
  }
  reply(id, proto::encode(proto::Error{std::string(code), why}));
  // A close reason is at most 123 bytes; cut it at a character boundary.
  server_->close(id, 1008, proto::clean_text(why, 100));
}

void PoolServer::schedule_commit() {
  // A reply waits: commit at the end of this turn. Otherwise (results of
  // slow tasks arriving one per turn) let writes gather for kCommitDelayMs:
  // a commit per result cost ~50 us of the cores the tasks run on (at 100 ms,
  // 10 ms tasks on 2 workers commit 10 times a second, not 200). Nothing
  // unacknowledged is at risk (a lost result's task is still queued in the
  // store), and whatever a client may see is committed first (observe()).
  const bool soon = !after_commit_.empty();
  bool& armed = soon ? commit_soon_ : commit_later_;
  if (armed) return;
  armed = true;
  server_->after(soon ? 0 : kCommitDelayMs, [this, &armed] {
    armed = false;
    commit();
  });
}

void PoolServer::observe() {
  if (store_.dirty()) commit();
}

void PoolServer::commit() {
  if (!store_.dirty() && after_commit_.empty()) return;
  Status s = store_.commit();
  if (!s.ok()) {
    // Without the store nothing can be acknowledged: stop rather than lie.
    diag::error("{}", s.message());
    server_->stop();
    return;
  }
  ++commits_;
  for (auto& [id, message] : after_commit_) reply(id, message);
  after_commit_.clear();
}

// Connection limits (--max-connections, and the room and deadline of those
// not hello'd yet) are the net layer's: authenticate() lifts them.
bool PoolServer::on_ws_open(net::ConnId id, const net::HttpRequest& request, int& refusal) {
  if (request.path == "/worker") {
    pending_worker_[id] = true;
    return true;
  }
  if (request.path == "/client") {
    clients_[id] = false;
    return true;
  }
  refusal = 404;
  return false;
}

void PoolServer::on_ws_close(net::ConnId id) {
  now_ = Clock::now();
  pending_worker_.erase(id);
  clients_.erase(id);
  grants_.erase(id);
  if (auto sub = submitting_.find(id); sub != submitting_.end()) {
    const int64_t campaign = sub->second.campaign;
    submitting_.erase(sub);
    drop_if_empty(campaign);
  }
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  Worker& w = it->second;
  if (auto c = campaigns_.find(w.campaign); c != campaigns_.end()) --c->second.bound;
  release_members(w, "worker lost (disconnected)", true);
  if (!w.violation.empty()) {
    // A worker that broke the protocol fails what it held: a task whose
    // result it cannot send (too large, malformed) must not come back for
    // ever without counting an attempt.
    std::vector<int64_t> held;
    for (const auto& [task, lease] : w.leases) held.push_back(task);
    for (int64_t task : held)
      finish_task(w, task, false, {}, "worker connection closed: " + w.violation, 0);
  }
  release_leases(w, "worker disconnected");
  w.row.last_seen = static_cast<int64_t>(std::time(nullptr));
  (void)store_.upsert_worker(w.row);
  diag::info("worker {} ({}) left", w.row.id, w.row.name);
  workers_.erase(it);
  schedule_commit();
  top_up_all();
  send_decisions();
}

void PoolServer::on_ws_too_large(net::ConnId id, size_t limit) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  it->second.violation = limit % (1u << 20) == 0
                             ? fmt::format("it sent a message larger than {} MiB", limit >> 20)
                             : fmt::format("it sent a message larger than {} bytes", limit);
}

void PoolServer::on_ws_message(net::ConnId id, std::string_view data, bool) {
  // Nothing below reads the wire: a message that does not decode (a field
  // missing, of another type or out of range) is answered with an error
  // naming the field, and the connection is closed.
  now_ = Clock::now();  // the one reading of the clock for this event
  if (clients_.count(id)) {
    auto m = proto::decode_from_client(data);
    if (!m.ok()) return refuse(id, m.status().message(), proto::kBadRequest);
    on_client_message(id, *m);
  } else if (pending_worker_.count(id) || workers_.count(id)) {
    auto m = proto::decode_from_worker(data);
    if (!m.ok()) return refuse(id, m.status().message());
    on_worker_message(id, *m);
  }
  send_decisions();
}

std::string PoolServer::worker_identity(net::ConnId id, const proto::WorkerHello& hello) const {
  // A worker is known by what it cannot shed by restarting: the key in its
  // cache (wrun) or local storage (browser), sent in hello and kept only as
  // a hash; else the capability it works with (hello was authenticated: a
  // capability it carries is a valid one); else (an old worker) the id it
  // names itself, unique per live connection.
  if (!hello.worker_key.empty()) return "k-" + sha256_hex(hello.worker_key).substr(0, 16);
  if (!hello.cap.empty() && verifier_.has_secret())
    return "c-" + sha256_hex(hello.cap).substr(0, 16);
  std::string named = hello.id;
  for (const auto& [conn, other] : workers_)
    if (!named.empty() && other.row.id == named) named += fmt::format("#{}", id);
  return named;
}

void PoolServer::on_worker_hello(net::ConnId id, const proto::WorkerHello& hello) {
  if (!pending_worker_.count(id)) return refuse(id, "hello sent twice");
  // A worker needs the right to work.
  Status s = authenticate(id, hello.key, hello.cap, kWork);
  if (!s.ok()) return refuse(id, s.message());
  Worker w;
  w.conn = id;
  w.row.id = worker_identity(id, hello);
  w.row.name = hello.name;
  w.row.platform = hello.platform;
  w.row.slots = hello.slots;
  w.row.score = hello.score;
  // A browser that is not cross-origin isolated cannot run members; a
  // worker older than the field can.
  w.coupled = hello.coupled;
  if (w.row.id.empty()) w.row.id = fmt::format("{}-{}", w.row.name, id);
  w.last_heard = now_;
  w.row.last_seen = static_cast<int64_t>(std::time(nullptr));
  restore_worker(w.row);  // a known worker keeps its flag and counts
  pending_worker_.erase(id);
  diag::info("worker {} joined: {}, {}, score {:.0f}", w.row.id, count_of(w.row.slots, "slot"),
             w.row.platform, w.row.score);
  proto::Welcome welcome;
  welcome.id = w.row.id;
  welcome.heartbeat_ms = static_cast<int64_t>(options_.heartbeat * 1000);
  welcome.sig = options_.sig;
  welcome.max_frame = static_cast<int64_t>(options_.max_frame);
  reply(id, proto::encode(welcome));
  (void)store_.upsert_worker(w.row);
  schedule_commit();
  top_up(workers_.emplace(id, std::move(w)).first->second);
}

void PoolServer::on_worker_message(net::ConnId id, const proto::FromWorker& m) {
  if (auto* hello = std::get_if<proto::WorkerHello>(&m)) return on_worker_hello(id, *hello);
  auto it = workers_.find(id);
  if (it == workers_.end()) return refuse(id, "say hello first");
  Worker& w = it->second;
  if (Status s = permit(id, kWork, ""); !s.ok()) return refuse(id, s.message());
  w.last_heard = now_;
  if (auto* results = std::get_if<proto::Results>(&m)) {
    Status s = on_results(w, *results);
    if (!s.ok()) return refuse(id, s.message());
    top_up_after(&w);
  } else if (auto* beat = std::get_if<proto::Heartbeat>(&m)) {
    // For the dashboard only: what a worker says of itself decides nothing.
    w.load = beat->load;
    w.rss = beat->rss;
  } else if (auto* checkpoint = std::get_if<proto::Checkpoint>(&m)) {
    Status s = on_checkpoint(w, *checkpoint);
    if (!s.ok()) return refuse(id, s.message());
  } else if (auto* fetch = std::get_if<proto::Fetch>(&m)) {
    // A worker scoped to one campaign gets that campaign's kernels only.
    if (const std::string scope = scope_of(id); !kernel_in_scope(fetch->kernel, scope))
      return refuse(id, fmt::format("denied: kernel {} is not for campaign '{}'",
                                    fetch->kernel.substr(0, 12), scope));
    auto data = store_.kernel_data(fetch->kernel);
    if (!data.ok()) return refuse(id, data.status().message());
    reply(id, proto::encode(proto::Artifact{fetch->kernel, *data}));
  } else if (auto* bye = std::get_if<proto::Bye>(&m)) {
    on_bye(w, *bye);
  }
}

void PoolServer::on_bye(Worker& w, const proto::Bye& m) {
  w.draining = true;
  for (int64_t task : m.returned) {
    // A member it did not start: its run fails, without counting an attempt.
    for (auto mem = w.members.lower_bound({task, 0});
         mem != w.members.end() && mem->first.first == task;
         mem = w.members.lower_bound({task, 0})) {
      const auto [key, gid] = *mem;
      w.members.erase(mem);
      fail_group(
          gid, key.second,
          fmt::format("{}: rank {} of {}: returned (worker draining)", w.row.id, key.second, gid),
          false);
    }
    auto lease = w.leases.find(task);
    if (lease == w.leases.end()) continue;
    auto c = campaigns_.find(lease->second.task.campaign);
    if (c != campaigns_.end()) return_lease(c->second, std::move(lease->second), w.row.id);
    w.leases.erase(lease);
  }
  top_up_all();
}

void PoolServer::on_client_message(net::ConnId id, const proto::FromClient& m) {
  if (auto* hello = std::get_if<proto::ClientHello>(&m)) {
    // A client's rights are checked per request.
    Status s = authenticate(id, hello->key, hello->cap, 0);
    if (!s.ok()) return refuse(id, s.message(), proto::kDenied);
    clients_[id] = true;
    return reply(id, proto::encode(proto::Welcome{}));
  }
  if (!clients_[id]) return refuse(id, "say hello first", proto::kBadRequest);
  observe();
  Status s = permit_request(id, m);
  if (s.ok()) s = on_request(id, m);
  // A request that decoded but failed (no such campaign, denied) is
  // answered; the connection stays open for the next one.
  if (!s.ok())
    reply(id,
          proto::encode(proto::Error{std::string(s.code() == Code::kNotFound ? proto::kNotFound
                                                 : s.code() == Code::kDenied ? proto::kDenied
                                                                             : proto::kBadRequest),
                                     s.message()}));
}

}  // namespace w::pool
