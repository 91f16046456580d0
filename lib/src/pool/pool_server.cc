// The pool server's connections: opening, hello, closing, and the
// dispatch of decoded worker and client messages to the scheduler
// (scheduler_events.cc) or to requests.cc, which answers the clients.
#include "pool_server.h"

#include <fmt/format.h>

#include "../proto/fields.h"
#include "w/diag.h"
#include "w/sha256.h"

namespace w::pool {

PoolServer::PoolServer(const ServeOptions& options, Store& store)
    : options_(options),
      store_(store),
      sched_(store, options.worker_timeout),
      verifier_(kService, options.secret, options.key, kAllRights) {}

Status PoolServer::load() {
  W_RETURN_IF_ERROR(sched_.load());
  return store_.commit();  // campaigns a submit left empty are gone
}

void PoolServer::attach(net::Server& server) {
  server_ = &server;
  server.every(250, [this] {
    now_ = Clock::now();
    sched_.tick(now_);
    // Pools sharing the store: every second, this one is alive and learns
    // what the others did (sooner when one of them says it changed
    // something: below).
    if (store_.shared()) {
      const bool second = ++ticks_ % 4 == 0;
      Status s = second ? store_.keepalive() : Status();
      if (s.ok() && second) s = sched_.sync(now_);
      if (!s.ok()) diag::error("{}", s.message());
    }
    finish_event();
  });
  // Another pool's NOTIFY (a campaign made, changed or grown, tasks handed
  // back) is looked for every 25 ms: a read of what the socket already
  // holds, no round trip. At the 250 ms tick, pools without the submit
  // started a campaign of 10 ms tasks ~125 ms late.
  if (store_.shared())
    server.every(25, [this] {
      if (!store_.changed_elsewhere()) return;
      now_ = Clock::now();
      if (Status s = sched_.sync(now_); !s.ok()) diag::error("{}", s.message());
      finish_event();
    });
  sample_history();  // the first point at once, not one interval later
  server.every(static_cast<int>(options_.history_interval * 1000), [this] { sample_history(); });
}

void PoolServer::reply(net::ConnId id, const std::string& message) {
  server_->send(id, message, true);
}

void PoolServer::finish_event() {
  // Encoded here, in the order decided: a worker gets `campaign` before
  // the tasks it binds it to.
  for (const Decision& d : sched_.take_decisions()) {
    if (auto* tasks = std::get_if<SendTasks>(&d.action)) {
      proto::TasksBuilder message(tasks->campaign);
      for (const TaskGrant& t : tasks->items) {
        proto::TaskItem item{t.id, t.seq, t.input};
        if (t.checkpoint) item.checkpoint = *t.checkpoint;
        item.group = t.group;
        item.rank = t.rank;
        item.size = t.size;
        item.browsers = t.browsers;
        item.link = t.link;
        item.step = t.step;
        message.add(item);
      }
      reply(d.conn, message.done());
    } else if (auto* bind = std::get_if<BindCampaign>(&d.action)) {
      reply(d.conn,
            proto::encode(proto::CampaignBind{bind->campaign, bind->name, bind->kernel,
                                              bind->static_data, bind->timeout_ms, bind->group}));
    } else if (auto* abort = std::get_if<proto::Abort>(&d.action)) {
      if (server_->is_open(d.conn)) reply(d.conn, proto::encode(*abort));
    } else if (auto* close = std::get_if<CloseConn>(&d.action)) {
      server_->close(d.conn, close->code, close->reason);
    }
  }
  if (sched_.take_drained())
    commit();
  else if (store_.dirty() || sched_.results_pending())
    schedule_commit();
}

void PoolServer::reply_after_commit(net::ConnId id, std::string message) {
  after_commit_.emplace_back(id, std::move(message));
  schedule_commit();
}

void PoolServer::refuse(net::ConnId id, const std::string& why, std::string_view code) {
  diag::debug("connection {}: {}", id, why);
  sched_.violation(id, why);  // a worker's leases then fail when it is gone
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
  if (store_.dirty() || sched_.results_pending()) commit();
}

Status PoolServer::save() {
  sched_.store_results();
  return store_.commit();
}

void PoolServer::commit() {
  sched_.store_results();  // results wait for the commit that makes them durable
  if (!store_.dirty() && after_commit_.empty()) return;
  Status s = store_.commit();
  if (!s.ok()) {
    // Without the store nothing can be acknowledged: stop rather than lie.
    diag::error("{}", s.message());
    store_failure_ = s;
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
  if (!sched_.worker(id)) return;
  sched_.worker_left(id, now_, static_cast<int64_t>(std::time(nullptr)));
  finish_event();
}

void PoolServer::on_ws_too_large(net::ConnId id, size_t limit) {
  // The net layer closes the connection: what the worker held fails.
  sched_.violation(id, limit % (1u << 20) == 0
                           ? fmt::format("it sent a message larger than {} MiB", limit >> 20)
                           : fmt::format("it sent a message larger than {} bytes", limit));
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
  } else if (pending_worker_.count(id) || sched_.worker(id)) {
    auto m = proto::decode_from_worker(data);
    if (!m.ok()) return refuse(id, m.status().message());
    on_worker_message(id, *m);
  }
  finish_event();
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
  for (const auto& [conn, other] : sched_.workers())
    if (!named.empty() && other.row.id == named) named += fmt::format("#{}", id);
  return named;
}

void PoolServer::on_worker_hello(net::ConnId id, const proto::WorkerHello& hello) {
  if (!pending_worker_.count(id)) return refuse(id, "hello sent twice");
  // A worker needs the right to work.
  Status s = authenticate(id, hello.key, hello.cap, kWork);
  if (!s.ok()) return refuse(id, s.message());
  WorkerRow row;
  row.id = worker_identity(id, hello);
  row.name = hello.name;
  row.platform = hello.platform;
  row.slots = hello.slots;
  row.score = hello.score;
  if (row.id.empty()) row.id = fmt::format("{}-{}", row.name, id);
  row.last_seen = static_cast<int64_t>(std::time(nullptr));
  pending_worker_.erase(id);
  proto::Welcome welcome;
  welcome.id = row.id;
  welcome.heartbeat_ms = static_cast<int64_t>(options_.heartbeat * 1000);
  welcome.sig = options_.sig;
  welcome.max_frame = static_cast<int64_t>(options_.max_frame);
  reply(id, proto::encode(welcome));
  sched_.worker_joined(id, std::move(row), hello.coupled, scope_of(id), now_);
}

void PoolServer::on_worker_message(net::ConnId id, const proto::FromWorker& m) {
  if (auto* hello = std::get_if<proto::WorkerHello>(&m)) return on_worker_hello(id, *hello);
  if (!sched_.worker(id)) return refuse(id, "say hello first");
  if (Status s = permit(id, kWork, ""); !s.ok()) return refuse(id, s.message());
  sched_.heard(id, now_);
  if (auto* results = std::get_if<proto::Results>(&m)) {
    Status s = sched_.results(id, *results, now_);
    if (!s.ok()) return refuse(id, s.message());
  } else if (auto* beat = std::get_if<proto::Heartbeat>(&m)) {
    // For the dashboard only: what a worker says of itself decides nothing.
    sched_.heartbeat(id, beat->load, beat->rss);
  } else if (auto* checkpoint = std::get_if<proto::Checkpoint>(&m)) {
    Status s = sched_.checkpoint(id, *checkpoint, now_);
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
    sched_.drain(id, *bye, now_);
  }
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
