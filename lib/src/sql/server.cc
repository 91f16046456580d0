// wsql serve: an Engine behind a w::net::Server.
//
//   POST /rpc[?db=DB&cap=CAP]   one request or an array; JSON or msgpack
//                               (told apart by the first byte), answered in
//                               the same format
//   WebSocket /DB?cap=CAP       requests as text (JSON) or binary (msgpack)
//                               frames, pipelined, answered in order
//   GET /metrics, /api/status   Prometheus text and a JSON summary
//
// Group commit: writes of every client go into one open transaction per
// database (Engine). A reply that depends on it is held, and so is every
// later reply on the same connection (answers stay in order), until the
// group is written to disk: at the end of the loop turn while groups hold
// fewer than kCompany writes or once it holds as many as the last group,
// else commit_ms after its first held reply. An HTTP request commits at
// once, because its answer cannot wait.
//
// Long requests: a WebSocket message the engine hands to a worker thread
// (engine_impl.h) is answered when poll() returns it; a 1 ms timer polls
// while any is in flight. Meanwhile its connection's next messages wait in
// order (at most kMaxQueuedBytes / kMaxQueued of them, else the connection
// is closed), and every other connection is served as usual.
//
// Authentication (net.h, "Admission"): a WebSocket whose URL carries a valid
// capability (or the key) is authenticated at open; one without, by its
// first request whose capability checks out. Until then it may send 64 KiB
// at most and is closed after --auth-timeout. A POST /rpc is authenticated
// by the capability in its URL, which then allows bodies past 64 KiB.
//
// Threading: everything runs on the server's event-loop thread.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <deque>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "request.h"
#include "w/diag.h"
#include "w/msgpack.h"
#include "w/net.h"
#include "w/sql.h"

namespace w::sql {
namespace {

// Messages a connection may send while one of its own is on a worker.
constexpr size_t kMaxQueued = 10000;
constexpr size_t kMaxQueuedBytes = 64u << 20;

struct Held {
  Engine::Reply reply;
  bool binary = false;
};

struct Queued {
  std::string data;
  bool binary = false;
};

// One per open WebSocket; freed on close.
struct Conn {
  std::string db;
  std::string cap;
  std::deque<Held> held;       // replies waiting for their group's commit, in order
  bool running = false;        // a message of this connection is on a worker
  bool queued_binary = false;  // the format of that message
  bool offload = false;        // its last message was slow: send the next to a worker
  std::deque<Queued> queued;   // messages that arrived meanwhile
  size_t queued_bytes = 0;
};

bool looks_msgpack(std::string_view body) {
  return !body.empty() && static_cast<uint8_t>(body[0]) >= 0x80;
}

// HTTP status for a single request's error (batches always answer 200).
int http_status(std::string_view first_error) {
  if (first_error.empty()) return 200;
  if (first_error == "bad_request") return 400;
  if (first_error == "denied") return 403;
  if (first_error == "not_found") return 404;
  if (first_error == "exists") return 409;
  if (first_error == "too_big") return 413;
  if (first_error == "sql") return 422;
  if (first_error == "busy" || first_error == "timeout") return 503;
  return 500;
}

class SqlHandler : public net::Handler {
 public:
  SqlHandler(Engine& engine, const ServeOptions& options)
      : engine_(engine),
        options_(options),
        verifier_(kService, options.engine.secret, options.engine.key, kAllRights) {}

  net::Server* server = nullptr;

  net::HttpResponse on_http(const net::HttpRequest& req) override {
    if (req.path == "/rpc" && req.method == "OPTIONS")
      return cors(net::HttpResponse::text(204, ""));
    if (req.path == "/rpc" && req.method == "POST") return rpc(req);
    if (req.path == "/rpc") return error_page(405, "POST requests to /rpc");
    if (req.path == "/metrics") return metrics();
    if (req.path == "/api/status") return status();
    return error_page(
        404, fmt::format("no page '{}': POST /rpc, WebSocket /DB, GET /metrics", req.path));
  }

  bool on_ws_open(net::ConnId id, const net::HttpRequest& req, int& refusal) override {
    std::string db = req.path.size() > 1 ? req.path.substr(1) : "";
    if (auto slash = db.find('/'); slash != std::string::npos) db.resize(slash);
    if (!db.empty() && !cap::valid_name(db)) {
      refusal = 404;
      return false;
    }
    conns_[id] = Conn{db, req.arg("cap"), {}};
    if (valid(req.arg("cap"))) server->authenticate(id);
    return true;
  }

  bool http_authenticated(const net::HttpRequest& req) override {
    return req.path == "/rpc" && valid(req.arg("cap"));
  }

  void on_ws_message(net::ConnId id, std::string_view data, bool binary) override {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (c.running) {
      // Answers stay in order: this one waits for the message on a worker.
      if (c.queued.size() >= kMaxQueued || c.queued_bytes + data.size() > kMaxQueuedBytes) {
        server->close(id, 1008, "too many requests waiting behind a long one");
        return;
      }
      c.queued.push_back(Queued{std::string(data), binary});
      c.queued_bytes += data.size();
      return;
    }
    start(id, c, data, binary);
  }

  void on_ws_close(net::ConnId id) override {
    auto it = conns_.find(id);
    if (it != conns_.end() && it->second.running) engine_.cancel(id);
    conns_.erase(id);
    waiting_.erase(id);
  }

  /// Commits the open groups, then sends every held reply that may go.
  void flush() {
    if (!engine_.pending() && waiting_.empty()) return;
    last_group_ = group_writes_;
    group_writes_ = 0;
    release(commit());
  }

 private:
  // Runs one message of connection `id`; its reply now, or from poll().
  void start(net::ConnId id, Conn& c, std::string_view data, bool binary) {
    Engine::Reply reply;
    const bool now = engine_.submit(id, data, binary, c.db, c.cap, c.offload, reply);
    if (reply.authenticated) server->authenticate(id);
    if (!now) {
      c.running = true;
      c.queued_binary = binary;
      arm_poll();
      return;
    }
    deliver(id, c, std::move(reply), binary);
  }

  void deliver(net::ConnId id, Conn& c, Engine::Reply reply, bool binary) {
    c.offload = reply.slow;
    if (reply.groups.empty() && c.held.empty()) {
      server->send(id, reply.bytes, binary);
      return;
    }
    if (!reply.groups.empty()) ++group_writes_;
    c.held.push_back(Held{std::move(reply), binary});
    waiting_.insert(id);
    arm_flush();
  }

  // A flush() in `ms` (0: at the end of this loop turn); one armed before
  // is void.
  void schedule_flush(int ms) {
    flush_armed_ = true;
    flush_soon_ = ms == 0;
    const uint64_t turn = ++flush_turn_;
    server->after(ms, [this, turn] {
      if (turn != flush_turn_) return;
      flush_armed_ = flush_soon_ = false;
      flush();
    });
  }

  void arm_flush() {
    if (flush_armed_) {
      // The company of the last group is back (each writer answered sends
      // its next write about a round trip later): waiting on only makes
      // them wait, so the group commits now. One that does not come back
      // costs one commit_ms, after which the groups are smaller.
      if (!flush_soon_ && group_writes_ >= last_group_) schedule_flush(0);
      return;
    }
    // The group commit waits commit_ms for company, but only while there is
    // company: when the last group held fewer than kCompany writes, this one
    // is committed at the end of the loop turn (one client writing alone
    // waited 1.8 ms for an insert, PostgreSQL 0.5). Once a group holds
    // kCompany, the next one waits for as many writes as it held, commit_ms
    // at most (PostgreSQL's commit_delay has a like rule, with
    // commit_siblings): 16 writes in flight waited the whole commit_ms for
    // each group before, 0.67x PostgreSQL's inserts. An idle server sets no
    // timer at all (a 1 ms one woke it 1,000 times a second).
    const bool now =
        last_group_ < kCompany || group_writes_ >= last_group_ || options_.commit_ms <= 0;
    schedule_flush(now ? 0 : std::max(1, static_cast<int>(std::ceil(options_.commit_ms))));
  }

  // Collects messages the workers finished, every millisecond while any
  // is in flight (w::net cannot be woken from another thread).
  void arm_poll() {
    if (poll_armed_) return;
    poll_armed_ = true;
    server->after(1, [this] {
      poll_armed_ = false;
      for (auto& [id, reply] : engine_.poll()) {
        auto it = conns_.find(id);
        if (it == conns_.end()) continue;
        Conn& c = it->second;
        c.running = false;
        deliver(id, c, std::move(reply), c.queued_binary);
        // The messages that waited behind it, until one leaves the loop.
        while (!c.running && !c.queued.empty()) {
          Queued q = std::move(c.queued.front());
          c.queued.pop_front();
          c.queued_bytes -= q.data.size();
          start(id, c, q.data, q.binary);
        }
      }
      if (engine_.pending()) arm_flush();
      if (engine_.in_flight() > 0) arm_poll();
    });
  }

  // A capability or the key, checked without touching a database.
  bool valid(const std::string& cap) { return !cap.empty() && verifier_.check(cap).ok(); }

  static net::HttpResponse cors(net::HttpResponse r) {
    // Capabilities, not cookies, authorize a request, so any page may call.
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
    r.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
    r.headers.emplace_back("Access-Control-Allow-Headers", "Content-Type");
    return r;
  }

  static net::HttpResponse error_page(int status, const std::string& message) {
    std::string body;
    mp::Packer pk(body);
    pk.map(1), pk.str("error"), pk.map(2);
    pk.str("code"), pk.str(status == 404 ? "not_found" : "bad_request");
    pk.str("message"), pk.str(message);
    std::string json;
    (void)mp::to_json(body, json);
    return net::HttpResponse::json(status, json + "\n");
  }

  net::HttpResponse rpc(const net::HttpRequest& req) {
    const bool msgpack = looks_msgpack(req.body);
    Engine::Reply reply =
        engine_.handle(req.body, msgpack, req.arg("db"), req.arg("cap"), Via::kHttp);
    if (!reply.groups.empty()) {
      // Commit now, and with it every WebSocket write in the same group.
      auto failed = commit();
      std::string why;
      switch (engine_.outcome(reply, &why)) {
        case Engine::Outcome::kOk:
          break;
        case Engine::Outcome::kFailed:
          reply.bytes = Engine::failed_reply(reply, msgpack, why);
          break;
        case Engine::Outcome::kWait:  // its database is on a worker: not confirmed
          reply.bytes = Engine::failed_reply(reply, msgpack, "the write could not be confirmed");
          break;
      }
      release(failed);
    }
    const int code = http_status(reply.batch ? "" : reply.error);
    net::HttpResponse r = net::HttpResponse::json(code, std::move(reply.bytes));
    if (msgpack)
      r.content_type = "application/msgpack";
    else
      r.body += '\n';
    return cors(std::move(r));
  }

  std::vector<std::pair<std::string, std::string>> commit() {
    auto failed = engine_.commit();
    for (const auto& [db, why] : failed) diag::error("commit '{}': {}", db, why);
    return failed;
  }

  // Sends the held replies whose groups are committed, in order per
  // connection (failures for groups that failed); the rest keep waiting.
  void release(const std::vector<std::pair<std::string, std::string>>&) {
    for (auto w = waiting_.begin(); w != waiting_.end();) {
      auto it = conns_.find(*w);
      if (it == conns_.end()) {
        w = waiting_.erase(w);
        continue;
      }
      std::deque<Held>& held = it->second.held;
      while (!held.empty()) {
        Held& h = held.front();
        std::string why;
        const Engine::Outcome o = engine_.outcome(h.reply, &why);
        if (o == Engine::Outcome::kWait) break;
        server->send(*w,
                     o == Engine::Outcome::kOk ? std::move(h.reply.bytes)
                                               : Engine::failed_reply(h.reply, h.binary, why),
                     h.binary);
        held.pop_front();
      }
      w = held.empty() ? waiting_.erase(w) : std::next(w);
    }
  }

  net::HttpResponse metrics() const;
  net::HttpResponse status() const;

  Engine& engine_;
  const ServeOptions& options_;
  cap::Verifier verifier_;  // the engine's, again: for the URL's capability
  std::unordered_map<net::ConnId, Conn> conns_;
  std::set<net::ConnId> waiting_;     // connections with held replies
  bool flush_armed_ = false;          // a flush() is due commit_ms after the first held reply
  bool flush_soon_ = false;           // ... or at the end of this loop turn
  uint64_t flush_turn_ = 0;           // the flush() timer that counts (earlier ones are void)
  static constexpr int kCompany = 2;  // writes in a group that make the next one wait
  int group_writes_ = 0;              // writes held for the next commit
  int last_group_ = 0;                // writes the last commit held
  bool poll_armed_ = false;           // a poll of the workers is due in 1 ms
  time_t started_ = time(nullptr);
};

net::HttpResponse SqlHandler::metrics() const {
  const EngineStats& s = engine_.stats();
  const net::ServerStats& n = server->stats();
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  out += "# HELP wsql_requests_total Requests by operation.\n# TYPE wsql_requests_total counter\n";
  for (size_t i = 0; i <= static_cast<size_t>(Op::kRestrict); ++i)
    out += fmt::format("wsql_requests_total{{op=\"{}\"}} {}\n", op_name(static_cast<Op>(i)),
                       s.by_op[i]);
  out +=
      "# HELP wsql_errors_total Failed requests by error code.\n# TYPE wsql_errors_total counter\n";
  for (size_t i = 1; i <= static_cast<size_t>(Err::kInternal); ++i)
    out += fmt::format("wsql_errors_total{{code=\"{}\"}} {}\n", err_name(static_cast<Err>(i)),
                       s.by_error[i]);
  counter("wsql_rows_read_total", "Rows returned.", s.rows_read);
  counter("wsql_rows_written_total", "Rows inserted, updated or deleted.", s.rows_written);
  counter("wsql_commits_total", "Group commits.", s.commits);
  counter("wsql_commit_failures_total", "Group commits that failed.", s.commit_failures);
  counter("wsql_handoffs_total", "Requests moved off the event loop to a database's thread.",
          s.handoffs);
  counter("wsql_copies_total", "Copy operations that read a source.", s.copies);
  out += fmt::format(
      "# HELP wsql_commit_seconds_total Time in COMMIT.\n# TYPE wsql_commit_seconds_total "
      "counter\nwsql_commit_seconds_total {:.6f}\n",
      static_cast<double>(s.commit_ns) / 1e9);
  counter("wsql_http_requests_total", "HTTP requests.", n.http_requests);
  counter("wsql_ws_messages_in_total", "WebSocket messages received.", n.messages_in);
  counter("wsql_ws_messages_out_total", "WebSocket messages sent.", n.messages_out);
  out += fmt::format(
      "# HELP wsql_open_databases Databases open.\n# TYPE wsql_open_databases gauge\n"
      "wsql_open_databases {}\n",
      s.open_databases);
  out += fmt::format(
      "# HELP wsql_connections Open WebSockets.\n# TYPE wsql_connections gauge\n"
      "wsql_connections {}\n",
      n.ws_open_now);
  net::append_admission_metrics(out, "wsql", n);
  net::HttpResponse r = net::HttpResponse::text(200, out);
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

net::HttpResponse SqlHandler::status() const {
  const EngineStats& s = engine_.stats();
  return net::HttpResponse::json(
      200, fmt::format("{{\"service\":\"wsql\",\"version\":\"{}\",\"uptime_s\":{},\"requests\":{},"
                       "\"open_databases\":{},\"connections\":{},\"commits\":{}}}\n",
                       W_VERSION, time(nullptr) - started_, s.requests, s.open_databases,
                       server->stats().ws_open_now, s.commits));
}

}  // namespace

Status serve(const ServeOptions& options) {
  if (options.ssl_key.empty() != options.ssl_cert.empty())
    return Status::Invalid("--sslkey and --sslcert go together");
  auto engine = Engine::open(options.engine);
  if (!engine.ok()) return engine.status();
  auto where = net::parse_listen(options.listen);
  if (!where.ok()) return where.status();
  SqlHandler handler(**engine, options);
  net::ServerConfig config;
  config.host = where->first;
  config.port = where->second;
  config.name = "wsql";
  config.protocols = {"wsql"};
  config.max_message = options.max_message;
  config.max_connections = options.max_connections;
  // Each open database holds up to three descriptors (file, WAL, shared memory).
  config.reserved_fds = 3 * options.engine.max_open + 64;
  config.auth_timeout_s = options.auth_timeout;
  config.idle_timeout_s = options.idle_timeout;
  config.tls_cert = options.ssl_cert;
  config.tls_key = options.ssl_key;
  config.busy_poll_us = options.busy_poll_us;
  // An answer goes out from the request's own callback when nothing is
  // queued before it, not at the next writeable event: a point select at
  // one in flight did 8% more a second (bench/wsql_bench, one request in
  // flight, with and without, interleaved; 2026-12-07).
  config.eager_writes = true;
  auto server = net::Server::create(config, handler);
  if (!server.ok()) return server.status();
  handler.server = server->get();
  diag::info("listening on {} (databases in {}; {} connections at most{})",
             net::host_port(config.host, (*server)->port()), options.engine.dir,
             (*server)->max_connections(), config.tls_cert.empty() ? "" : "; https and wss only");
  Status s = (*server)->run();
  handler.flush();  // writes still waiting are committed and answered
  diag::info("stopped");
  return s;
}

}  // namespace w::sql
