// Message handling of the pool server: hello, submit, results, control.
#include "pool_server.h"

#include <fmt/format.h>

#include "w/diag.h"
#include "w/sha256.h"

namespace w::pool {

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
    campaigns_.emplace(c.row.id, std::move(c));
  }
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
  server.every(250, [this] { check_deadlines(); });
}

void PoolServer::reply(net::ConnId id, const std::string& message) {
  server_->send(id, message, true);
}

void PoolServer::reply_after_commit(net::ConnId id, std::string message) {
  after_commit_.emplace_back(id, std::move(message));
  schedule_commit();
}

void PoolServer::refuse(net::ConnId id, const std::string& why) {
  diag::debug("connection {}: {}", id, why);
  if (auto w = workers_.find(id); w != workers_.end()) w->second.violation = why;
  reply(id, mp::MapBuilder().str("t", "error").str("message", why).done());
  server_->close(id, 1008, why.substr(0, 100));
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
  pending_worker_.erase(id);
  clients_.erase(id);
  grants_.erase(id);
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
}

void PoolServer::on_ws_too_large(net::ConnId id, size_t limit) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  it->second.violation = limit % (1u << 20) == 0
                             ? fmt::format("it sent a message larger than {} MiB", limit >> 20)
                             : fmt::format("it sent a message larger than {} bytes", limit);
}

void PoolServer::on_ws_message(net::ConnId id, std::string_view data, bool) {
  auto m = mp::MapView::parse(data);
  if (!m.ok()) return refuse(id, "malformed message: " + m.status().message());
  auto type = m->string("t");
  if (!type.ok() || type->empty()) return refuse(id, "message without a type ('t')");
  if (clients_.count(id)) return on_client_message(id, *m, *type);
  if (pending_worker_.count(id) || workers_.count(id)) return on_worker_message(id, *m, *type);
}

std::string PoolServer::worker_identity(net::ConnId id, const mp::MapView& hello) const {
  // A worker is known by what it cannot shed by restarting: the key in its
  // cache (wrun) or local storage (browser), sent in hello and kept only as
  // a hash; else the capability it works with; else (an old worker) the id
  // it names itself, unique per process.
  if (auto key = hello.string("worker_key"); key.ok() && key->size() >= 32 && key->size() <= 256)
    return "k-" + sha256_hex(*key).substr(0, 16);
  // (hello was authenticated: a capability it carries is a valid one)
  if (auto cap = hello.string("cap", ""); cap.ok() && !cap->empty() && verifier_.has_secret())
    return "c-" + sha256_hex(*cap).substr(0, 16);
  std::string named = hello.string("id").ok() ? *hello.string("id") : "";
  for (const auto& [conn, other] : workers_)  // one such id per live connection
    if (other.row.id == named) named += fmt::format("#{}", id);
  return named;
}

Status PoolServer::on_hello(net::ConnId id, const mp::MapView& m) {
  auto v = m.integer("v");
  if (!v.ok() || *v != kProtocolVersion)
    return Status::Invalid(fmt::format("protocol version {} is not supported (this pool speaks {})",
                                       v.ok() ? *v : -1, kProtocolVersion));
  // A worker needs the right to work; a client's rights are checked per request.
  return authenticate(id, m, pending_worker_.count(id) ? uint32_t{kWork} : 0u);
}

void PoolServer::on_worker_message(net::ConnId id, const mp::MapView& m, const std::string& type) {
  if (type == "hello") {
    if (!pending_worker_.count(id)) return refuse(id, "hello sent twice");
    Status s = on_hello(id, m);
    if (!s.ok()) return refuse(id, s.message());
    Worker w;
    w.conn = id;
    w.row.name = *m.string("name", "worker");
    w.row.id = worker_identity(id, m);
    w.row.platform = *m.string("platform", "linux-x86_64");
    auto slots = m.integer("slots", 1);
    w.row.slots = slots.ok() ? static_cast<int>(std::clamp<int64_t>(*slots, 1, 4096)) : 1;
    w.row.score = m.number("score").ok() ? *m.number("score") : 0;
    // A browser that is not cross-origin isolated cannot run members; a
    // worker older than the field can.
    auto coupled = m.boolean("coupled", true);
    w.coupled = !coupled.ok() || *coupled;
    if (w.row.id.empty()) w.row.id = fmt::format("{}-{}", w.row.name, id);
    w.last_heard = Clock::now();
    w.row.last_seen = static_cast<int64_t>(std::time(nullptr));
    restore_worker(w.row);  // a known worker keeps its flag and counts
    pending_worker_.erase(id);
    diag::info("worker {} joined: {} slots, {}, score {:.0f}", w.row.id, w.row.slots,
               w.row.platform, w.row.score);
    mp::MapBuilder welcome;
    welcome.str("t", "welcome")
        .integer("v", kProtocolVersion)
        .str("id", w.row.id)
        .integer("heartbeat_ms", static_cast<int64_t>(options_.heartbeat * 1000))
        .integer("max_frame", static_cast<int64_t>(options_.max_frame));
    if (!options_.sig.empty()) welcome.str("sig", options_.sig);
    reply(id, welcome.done());
    (void)store_.upsert_worker(w.row);
    schedule_commit();
    top_up(workers_.emplace(id, std::move(w)).first->second);
    return;
  }
  auto it = workers_.find(id);
  if (it == workers_.end()) return refuse(id, "say hello first");
  Worker& w = it->second;
  if (Status s = permit(id, kWork, ""); !s.ok()) return refuse(id, s.message());
  w.last_heard = Clock::now();
  if (type == "results") {
    Status s = on_results(w, m);
    if (!s.ok()) return refuse(id, s.message());
    top_up_after(&w);
  } else if (type == "heartbeat") {
    // last_heard is all it updates
  } else if (type == "checkpoint") {
    Status s = on_checkpoint(w, m);
    if (!s.ok()) return refuse(id, s.message());
  } else if (type == "fetch") {
    auto sha = m.string("kernel");
    auto data = sha.ok() ? store_.kernel_data(*sha) : Result<std::string>(sha.status());
    if (!data.ok()) return refuse(id, data.status().message());
    reply(id, mp::MapBuilder().str("t", "artifact").str("kernel", *sha).bin("data", *data).done());
  } else if (type == "bye") {
    w.draining = true;
    std::vector<std::string_view> ids;
    if (mp::decode_array(m.raw("returned"), ids)) {
      for (auto raw : ids) {
        int64_t task;
        if (!mp::decode_int(raw, task)) continue;
        // A member it did not start: its run fails, without counting an attempt.
        for (auto mem = w.members.lower_bound({task, 0});
             mem != w.members.end() && mem->first.first == task;
             mem = w.members.lower_bound({task, 0})) {
          const auto [key, gid] = *mem;
          w.members.erase(mem);
          fail_group(gid, key.second,
                     fmt::format("{}: rank {} of {}: returned (worker draining)", w.row.id,
                                 key.second, gid),
                     false);
        }
        auto lease = w.leases.find(task);
        if (lease == w.leases.end()) continue;
        auto c = campaigns_.find(lease->second.task.campaign);
        if (c != campaigns_.end()) return_lease(c->second, std::move(lease->second), w.row.id);
        w.leases.erase(lease);
      }
    }
    top_up_all();
  } else {
    refuse(id, fmt::format("unknown message type '{}'", type));
  }
}

void PoolServer::on_client_message(net::ConnId id, const mp::MapView& m, const std::string& type) {
  if (type == "hello") {
    Status s = on_hello(id, m);
    if (!s.ok()) return refuse(id, s.message());
    clients_[id] = true;
    return reply(id, mp::MapBuilder().str("t", "welcome").integer("v", kProtocolVersion).done());
  }
  if (!clients_[id]) return refuse(id, "say hello first");
  observe();
  Status s = permit_request(id, m, type);
  if (!s.ok()) {
    // refused: answered below like any failed request
  } else if (type == "kernel_put") {
    s = on_kernel_put(id, m);
  } else if (type == "open") {
    s = on_open(id, m);
  } else if (type == "datasets") {
    s = on_datasets(id, m);
  } else if (type == "status") {
    reply(id, status_message(visible_campaign(id, *m.string("campaign", ""))));
  } else if (type == "workers") {
    reply(id, workers_message());
  } else if (type == "results") {
    s = on_results_query(id, m);
  } else if (type == "control") {
    s = on_control(id, m);
  } else if (type == "unflag") {
    s = on_unflag(id, m);
  } else if (type == "kernels") {
    auto list = store_.kernels();
    if (!list.ok()) {
      s = list.status();
    } else {
      std::string items;
      mp::Packer pk(items);
      pk.array(static_cast<uint32_t>(list->size()));
      for (auto& k : *list) {
        pk.map(4);
        pk.str("sha256"), pk.str(k[0]), pk.str("name"), pk.str(k[1]);
        pk.str("platform"), pk.str(k[2]), pk.str("size"), pk.integer(std::stoll(k[3]));
      }
      reply(id, mp::MapBuilder().str("t", "kernels").raw("items", items).done());
    }
  } else {
    s = Status::Invalid(fmt::format("unknown request '{}'", type));
  }
  if (!s.ok())
    reply(id, mp::MapBuilder()
                  .str("t", "error")
                  .str("code", s.code() == Code::kNotFound ? "not_found"
                               : s.code() == Code::kDenied ? "denied"
                                                           : "bad_request")
                  .str("message", s.message())
                  .done());
}

Status PoolServer::on_kernel_put(net::ConnId id, const mp::MapView& m) {
  auto data = m.bytes("data");
  if (!data.ok()) return data.status();
  const std::string sha = sha256_hex(*data);
  W_RETURN_IF_ERROR(store_.put_kernel(sha, *m.string("name", "kernel"),
                                      *m.string("platform", "linux-x86_64"), *data));
  reply_after_commit(id, mp::MapBuilder().str("t", "kernel").str("sha256", sha).done());
  return {};
}

Status PoolServer::on_open(net::ConnId id, const mp::MapView& m) {
  CampaignSpec spec;
  spec.name = *m.string("name", "");
  if (spec.name.empty()) return Status::Invalid("a campaign needs a name");
  spec.kernel_sha = *m.string("kernel", "");
  spec.kernel_wasm = *m.string("kernel_wasm", "");
  spec.static_data = std::string(m.raw("static"));
  if (spec.static_data == "\xc0") spec.static_data.clear();
  spec.timeout_ms = *m.integer("timeout_ms", 60000);
  spec.max_attempts = static_cast<int>(*m.integer("max_attempts", 3));
  spec.priority = static_cast<int>(*m.integer("priority", 0));
  auto replicas = m.integer("replicas", 1), quorum = m.integer("quorum", 0);
  if (!replicas.ok() || *replicas < 1 || *replicas > kMaxReplicas)
    return Status::Invalid(fmt::format("replicas must be 1 to {}", kMaxReplicas));
  if (!quorum.ok() || *quorum < 0 || *quorum > *replicas)
    return Status::Invalid(fmt::format("quorum must be 1 to replicas ({})", *replicas));
  spec.replicas = static_cast<int>(*replicas);
  spec.quorum = *quorum == 0 ? spec.replicas / 2 + 1 : static_cast<int>(*quorum);  // 0: a majority
  auto tolerance = m.number("quorum_tolerance");
  if (m.has("quorum_tolerance") &&
      (!tolerance.ok() || !(*tolerance >= 0 && *tolerance <= 1)))  // NaN fails too
    return Status::Invalid("quorum_tolerance must be a number from 0 to 1");
  spec.quorum_tolerance = m.has("quorum_tolerance") ? *tolerance : 0;
  auto group = m.integer("group", 1);
  if (!group.ok() || *group < 1 || *group > kMaxGroup)
    return Status::Invalid(fmt::format("group must be 1 to {}", kMaxGroup));
  spec.group = static_cast<int>(*group);
  if (spec.group > 1 && spec.replicas > 1)
    return Status::Invalid("a coupled campaign (group) cannot have replicas");
  int64_t cid;
  auto existing = by_name_.find(spec.name);
  if (existing != by_name_.end()) {
    cid = existing->second;
    const Campaign& c = campaigns_.at(cid);
    if (!spec.kernel_sha.empty() && spec.kernel_sha != c.row.spec.kernel_sha)
      return Status::Invalid(
          fmt::format("campaign '{}' exists with another kernel ({}); pick a new name", spec.name,
                      c.row.spec.kernel_sha.substr(0, 12)));
  } else {
    if (spec.kernel_sha.empty())
      return Status::NotFound(fmt::format("no campaign '{}'", spec.name));
    for (const std::string& sha : {spec.kernel_sha, spec.kernel_wasm})
      if (!sha.empty() && !store_.kernel_data(sha).ok())
        return Status::NotFound(fmt::format("kernel {} is not on the pool; add it first", sha));
    auto created = store_.create_campaign(spec);
    if (!created.ok()) return created.status();
    cid = *created;
    Campaign c;
    c.row.id = cid;
    c.row.spec = spec;
    c.row.state = "running";
    c.row.created = static_cast<int64_t>(std::time(nullptr));
    c.store_exhausted = true;
    campaigns_.emplace(cid, std::move(c));
    by_name_[spec.name] = cid;
    diag::info("campaign {} '{}' created", cid, spec.name);
  }
  bool skip = false;
  const std::string once = *m.string("once_key", "");
  if (!once.empty()) {
    auto seen = store_.once_key_seen(cid, once);
    if (!seen.ok()) return seen.status();
    skip = *seen;
  }
  auto next = store_.next_seq(cid);
  if (!next.ok()) return next.status();
  reply_after_commit(id, mp::MapBuilder()
                             .str("t", "opened")
                             .integer("campaign", cid)
                             .integer("next_seq", *next)
                             .boolean("skip", skip)
                             .done());
  return {};
}

Status PoolServer::on_datasets(net::ConnId id, const mp::MapView& m) {
  auto cid = m.integer("campaign");
  if (!cid.ok() || !campaigns_.count(*cid)) return Status::NotFound("no such campaign");
  Campaign& c = campaigns_.at(*cid);
  std::vector<std::string_view> items;
  if (!mp::decode_array(m.raw("items"), items))
    return Status::Invalid("datasets: 'items' is not an array");
  auto next = store_.next_seq(c.row.id);
  if (!next.ok()) return next.status();
  int64_t seq = *next;
  for (auto item : items) {
    if (item.empty() || !mp::starts_map(static_cast<uint8_t>(item[0])))
      return Status::Invalid(fmt::format("dataset {} is not a map", seq));
    auto task = store_.add_task(c.row.id, seq++, item);
    if (!task.ok()) return task.status();
  }
  c.row.total += static_cast<int64_t>(items.size());
  c.store_exhausted = false;
  reply_after_commit(id, mp::MapBuilder()
                             .str("t", "ack")
                             .integer("count", static_cast<int64_t>(items.size()))
                             .integer("total", c.row.total)
                             .done());
  top_up_all();
  return {};
}

Status PoolServer::on_results_query(net::ConnId id, const mp::MapView& m) {
  auto name = m.string("campaign", "");
  auto it = by_name_.find(*name);
  if (it == by_name_.end()) return Status::NotFound(fmt::format("no campaign '{}'", *name));
  const Campaign& c = campaigns_.at(it->second);
  const int64_t since = *m.integer("since", 0);
  const int limit = static_cast<int>(std::clamp<int64_t>(*m.integer("limit", 5000), 1, 100000));
  // `after` (the previous page's last row) makes a page an index seek;
  // `since` alone walks past that many rows, so clients send it only first.
  const int64_t after = *m.integer("after", -1);
  auto rows = store_.results(c.row.id, since, limit, after);
  if (!rows.ok()) return rows.status();
  std::string items;
  mp::Packer pk(items);
  pk.array(static_cast<uint32_t>(rows->size()));
  for (const ResultRow& r : *rows) {
    mp::MapBuilder rec;
    rec.integer("task", r.task).integer("seq", r.seq).raw("input", r.input);
    if (r.error.empty())
      rec.raw("output", r.output);
    else
      rec.str("error", r.error);
    rec.str("worker", r.worker).str("platform", r.platform).real("ms", r.ms);
    pk.raw(rec.done());
  }
  reply(id, mp::MapBuilder()
                .str("t", "results")
                .raw("items", items)
                .integer("next", since + static_cast<int64_t>(rows->size()))
                .integer("after", rows->empty() ? after : rows->back().row)
                .boolean("complete", c.complete())
                .done());
  return {};
}

Status PoolServer::on_unflag(net::ConnId id, const mp::MapView& m) {
  auto worker = m.string("worker");
  if (!worker.ok() || worker->empty())
    return Status::Invalid("unflag: 'worker' must name a worker");
  W_RETURN_IF_ERROR(store_.unflag_worker(*worker));
  flagged_.erase(*worker);
  for (auto& [conn, w] : workers_)
    if (w.row.id == *worker) w.row.flagged = false;
  diag::info("worker {}: flag lifted", *worker);
  reply_after_commit(id, mp::MapBuilder().str("t", "ok").done());
  top_up_all();
  return {};
}

Status PoolServer::on_control(net::ConnId id, const mp::MapView& m) {
  const std::string action = *m.string("action", "");
  const std::string name = *m.string("campaign", "");
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return Status::NotFound(fmt::format("no campaign '{}'", name));
  const int64_t cid = it->second;
  if (action == "pause" || action == "resume" || action == "cancel") {
    const std::string state = action == "pause"    ? "paused"
                              : action == "resume" ? "running"
                                                   : "cancelled";
    W_RETURN_IF_ERROR(store_.set_campaign_state(cid, state));
    campaigns_.at(cid).row.state = state;
  } else if (action == "delete") {
    drop_groups(cid);
    for (auto& [conn, w] : workers_)
      if (w.campaign == cid) release_leases(w, "campaign deleted"), w.campaign = 0;
    W_RETURN_IF_ERROR(store_.delete_campaign(cid));
    campaigns_.erase(cid);
    by_name_.erase(it);
    W_RETURN_IF_ERROR(load_checkpoints());  // the campaign's went with it
  } else {
    return Status::Invalid(
        fmt::format("unknown action '{}' (cancel, pause, resume, delete)", action));
  }
  reply_after_commit(id, mp::MapBuilder().str("t", "ok").done());
  top_up_all();
  return {};
}

}  // namespace w::pool
