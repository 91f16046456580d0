// Running messages: each request of a message on the event loop when it
// can, on its database's worker thread when it cannot, and the hand-over
// between them (the model is in engine_impl.h).
//
// A message's requests share one time budget (config.timeout, counted from
// its arrival) and one result cap (config.max_result): a batch of slow
// requests stops at the budget, not at N budgets.
#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "engine_impl.h"
#include "w/msgpack.h"

namespace w::sql {
namespace {

constexpr cap::RightName kRightNames[] = {
    {"read", kRead}, {"write", kWrite}, {"table", kTable}, {"db", kDb}};

// Rights an operation needs on its database before any SQL runs.
uint32_t rights_for(Op op) {
  switch (op) {
    case Op::kTables:
    case Op::kSchema:
    case Op::kSelect:
    case Op::kCount:
      return kRead;
    case Op::kInsert:
    case Op::kUpdate:
    case Op::kDelete:
    case Op::kCopy:
      return kWrite;
    case Op::kCreate:
    case Op::kDrop:
      return kTable;
    case Op::kMerge:
      return kRead | kWrite;
    case Op::kCreateDb:
    case Op::kDropDb:
      return kDb;
    default:
      return 0;  // sql: the authorizer decides statement by statement
  }
}

// Operations that may write: an HTTP request handed off runs them inside a
// guard savepoint, so giving up on it undoes them.
bool may_write(Op op) {
  return op != Op::kSelect && op != Op::kCount && op != Op::kTables && op != Op::kSchema;
}

void pack_error(mp::Packer& pk, std::string_view id, const Error& e) {
  pk.map(id.empty() ? 1 : 2);
  if (!id.empty()) pk.str("id"), pk.raw(id);
  pk.str("error");
  pk.map(2);
  pk.str("code"), pk.str(err_name(e.code));
  pk.str("message"), pk.str(e.message);
}

int64_t after_s(double seconds) {
  return seconds > 0 ? now_ns() + static_cast<int64_t>(seconds * 1e9) : 0;
}

// Copies the message into the job and points its parts there: a job that
// leaves the loop outlives the buffer the message arrived in.
void own(Job& job) {
  if (!job.message.empty() || job.parts.empty()) return;
  const std::string_view old = job.view;
  job.message.assign(old);
  for (std::string_view& p : job.parts)
    if (p.data() >= old.data() && p.data() < old.data() + old.size())
      p = std::string_view(job.message.data() + (p.data() - old.data()), p.size());
  job.view = job.message;
}

// Runs the job's current part on the thread of its database (or of a copy).
void run_on_worker(Job& job, Engine::Impl& m) {
  Job::Part& p = job.part;
  Database& d = *p.d;
  if (job.cancel.load()) {
    p.error = {Err::kTimeout, "request cancelled"};
    return;
  }
  d.begin_request(RequestLimits{p.rights, job.deadline_ns, 0, &job.cancel, false});
  const bool guard = job.via == Via::kHttp && may_write(p.r.op);
  Error g = guard ? d.begin_write() : Error{};
  const size_t room =
      m.config.max_result > job.result_bytes ? m.config.max_result - job.result_bytes : 0;
  OpContext ctx{p.r, d, m.config, p.stats, p.body, room};
  const int64_t t0 = now_ns();
  if (!g.ok())
    p.error = g;
  else
    p.error = p.source ? copy_into(ctx, *p.source) : m.dispatch(ctx);
  p.ran_ns = now_ns() - t0;
  bool keep;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    keep = !job.abandoned;
    job.claimed = keep;
  }
  if (guard && g.ok()) d.end_write(keep);
  if (!keep) p.error = {Err::kTimeout, "abandoned"};
  d.end_request();
  p.group = d.in_group() ? d.group() : 0;
}

}  // namespace

cap::RightNames right_names() {
  return kRightNames;
}

std::string Engine::failed_reply(const Reply& r, bool msgpack, std::string_view why) {
  std::string out;
  mp::Packer pk(out);
  Error e{Err::kSql, fmt::format("commit failed, nothing was written: {}", why)};
  if (r.batch) pk.array(static_cast<uint32_t>(r.ids.size()));
  for (const std::string& id : r.ids) pack_error(pk, id, e);
  if (msgpack) return out;
  std::string json;
  (void)mp::to_json(out, json);
  return json;
}

std::shared_ptr<Job> Engine::Impl::make_job(std::string_view message, bool msgpack,
                                            std::string_view db, std::string_view cap, Via via) {
  auto job = std::make_shared<Job>();
  job->via = via;
  job->view = message;
  job->msgpack = msgpack;
  job->conn_db = db, job->conn_cap = cap;
  job->deadline_ns = after_s(config.timeout);
  if (via == Via::kHttp) job->loop_deadline_ns = after_s(config.http_timeout);
  mp::Packer pk(job->out);
  Error e = split_message(message, msgpack, job->storage, job->parts, job->reply.batch);
  if (!e.ok()) {
    ++stats.requests;
    ++stats.by_error[static_cast<size_t>(e.code)];
    pack_error(pk, {}, e);
    job->reply.ids.emplace_back();
    job->reply.error = err_name(e.code);
    job->parts.clear();
  } else if (job->reply.batch) {
    pk.array(static_cast<uint32_t>(job->parts.size()));
  }
  return job;
}

bool Engine::Impl::step(const std::shared_ptr<Job>& job) {
  while (job->next < job->parts.size())
    if (!run_part(job)) return false;
  finish(*job);
  return true;
}

void Engine::Impl::finish(Job& job) {
  if (job.msgpack) {
    job.reply.bytes = std::move(job.out);
  } else if (!mp::to_json(job.out, job.reply.bytes).ok()) {
    job.reply.bytes =
        R"({"error":{"code":"internal","message":"response is not JSON-representable"}})";
  }
}

void Engine::Impl::pack_part(Job& job, const Request& r, Body& body, const Error& e) {
  mp::Packer pk(job.out);
  job.reply.ids.emplace_back(r.id);
  ++job.next;
  if (!e.ok()) {
    ++stats.by_error[static_cast<size_t>(e.code)];
    pack_error(pk, r.id, e);
    job.reply.error = err_name(e.code);
    return;
  }
  job.result_bytes += body.buf.size();
  pk.map(body.fields + (r.id.empty() ? 0 : 1));
  if (!r.id.empty()) pk.str("id"), pk.raw(r.id);
  pk.raw(body.buf);
}

// Runs the job's next request. False if it left the loop (the job is then
// parked until its thread reports back).
bool Engine::Impl::run_part(const std::shared_ptr<Job>& jp) {
  Job& job = *jp;
  Request r;
  Body body;
  Error e = parse_request(job.parts[job.next], r);
  ++stats.requests;
  if (e.ok()) ++stats.by_op[static_cast<size_t>(r.op)];
  if (e.ok() && job.deadline_ns != 0 && now_ns() > job.deadline_ns)
    e = {Err::kTimeout, "the message's time budget was used by the requests before this one"};
  cap::Capability c;
  const std::string_view text = r.cap.empty() ? std::string_view(job.conn_cap) : r.cap;
  if (e.ok()) e = capability(text, c);
  if (e.ok()) job.reply.authenticated = true;  // the server lifts its pre-authentication limits
  const std::string db(r.db.empty() ? std::string_view(job.conn_db) : std::string_view(r.db));
  Database* d = nullptr;
  if (!e.ok()) {
  } else if (r.op == Op::kDatabases) {
    e = op_databases(c, body);
  } else if (r.op == Op::kRestrict) {
    e = op_restrict(r, text, db, body);
  } else if (db.empty()) {
    e = bad_request("no database: put it in the URL (ws://HOST:PORT/DB) or in the request's 'db'");
  } else if (!cap::valid_name(db)) {
    e = bad_request(fmt::format("bad database name '{}' (1-64 of A-Z a-z 0-9 _ . -)", db));
  } else if (Status s = cap::authorize(c, rights_for(r.op), "database", db, kRightNames); !s.ok()) {
    e = {Err::kDenied, s.message()};
  } else if (r.op == Op::kCreateDb) {
    e = op_create_db(r, db, body);
  } else if (r.op == Op::kDropDb) {
    e = op_drop_db(r, db, body);
  } else {
    e = database(db, d);
  }
  if (!e.ok() || !d) {
    pack_part(job, r, body, e);
    return true;
  }
  job.part.reset();
  job.part.db = db, job.part.rights = c.rights, job.part.d = d;
  if (r.op == Op::kCopy && job.via == Via::kHttp) {
    pack_part(job, r, body,
              bad_request("copy runs in the background: send it over a WebSocket (ws://)"));
    return true;
  }
  if (r.op == Op::kCopy && job.via == Via::kWebSocket) {
    if (start_copy(jp)) return false;
    pack_part(job, r, body,
              {Err::kBusy, fmt::format("{} copies are reading their sources; retry", kMaxCopies)});
    return true;
  }
  // A database its worker is using waits its turn there (even Via::kDirect,
  // which then waits for the answer).
  if (d->busy() || (job.via == Via::kWebSocket && job.offload))
    return hand_off(jp, job.offload), false;
  // Here, on the loop: within the slice, without compiling, without waiting.
  const bool loop = job.via != Via::kDirect;
  int64_t deadline = job.deadline_ns;
  if (job.loop_deadline_ns != 0 && (deadline == 0 || job.loop_deadline_ns < deadline))
    deadline = job.loop_deadline_ns;
  const int64_t slice = job.via == Via::kWebSocket ? now_ns() + kSliceNs : 0;
  d->begin_request(RequestLimits{c.rights, deadline, slice, &job.cancel, loop});
  const size_t room =
      config.max_result > job.result_bytes ? config.max_result - job.result_bytes : 0;
  OpContext ctx{r, *d, config, stats, body, room};
  const int64_t t0 = now_ns();
  if (r.op == Op::kCopy) {  // Via::kDirect: read the source, then insert
    CopySource source;
    e = fetch_source(r, job.deadline_ns, job.cancel, source);
    if (e.ok()) e = copy_into(ctx, source);
  } else {
    e = dispatch(ctx);
  }
  const Database::Yield yield = d->yielded();
  d->end_request();
  // A write that ran past the slice without yielding (database.cc's
  // progress(): it shared its group): the connection's next message goes
  // to the worker.
  if (slice != 0 && now_ns() - t0 > kSliceNs) job.reply.slow = true;
  if (yield != Database::Yield::kNone) return hand_off(jp, yield == Database::Yield::kSlice), false;
  if (e.code == Err::kTimeout && job.via == Via::kHttp && now_ns() > job.loop_deadline_ns &&
      (job.deadline_ns == 0 || now_ns() < job.deadline_ns))
    e.message = fmt::format(
        "a POST /rpc message may hold the server {} s (--http-timeout); send longer ones over a "
        "WebSocket",
        config.http_timeout);
  if (d->in_group()) {
    job.reply.groups.push_back(d->group());
    note_group(db, d->group());
  }
  pack_part(job, r, body, e);
  return true;
}

// Sends the job's current request to its database's worker. `slow`: it
// outran the slice (or its connection's last message did). The writes of
// others in the database's open group are committed first: their answers
// must not wait for a request that may run its whole budget.
void Engine::Impl::hand_off(const std::shared_ptr<Job>& jp, bool slow) {
  Job& job = *jp;
  own(job);
  Job::Part& p = job.part;
  p.r = Request{};
  (void)parse_request(job.parts[job.next], p.r);  // it parsed before: now from owned bytes
  Database& d = *p.d;
  if (!d.busy() && d.in_group()) (void)commit_one(p.db, d);
  {
    std::lock_guard<std::mutex> lock(mu);
    job.done = job.claimed = false;
  }
  ++stats.handoffs;
  if (slow) job.reply.slow = true;
  if (job.via == Via::kWebSocket) parked[job.tag] = jp;
  d.worker().post([this, jp] { run_on_worker(*jp, *this); },
                  [this, jp] {
                    std::lock_guard<std::mutex> lock(mu);
                    jp->done = true;
                    done.push_back(jp);
                    cv.notify_all();
                  });
}

// A copy reads its source on a copy thread, holding no database (so the
// source may be this very server, even this database), then inserts on
// the database's worker.
// False if kMaxCopies are running.
bool Engine::Impl::start_copy(const std::shared_ptr<Job>& jp) {
  Job& job = *jp;
  Worker* copier = nullptr;
  for (auto& w : copiers)
    if (w->pending() == 0) copier = w.get();
  if (!copier && copiers.size() < kMaxCopies)
    copier = copiers.emplace_back(std::make_unique<Worker>()).get();
  if (!copier) return false;
  own(job);
  Job::Part& p = job.part;
  p.r = Request{};
  (void)parse_request(job.parts[job.next], p.r);
  p.fetching = true;
  p.source = std::make_unique<CopySource>();
  ++stats.copies;
  parked[job.tag] = jp;
  {
    std::lock_guard<std::mutex> lock(mu);
    job.done = job.claimed = false;
  }
  copier->post(
      [jp] {
        Job::Part& part = jp->part;
        part.error = fetch_source(part.r, jp->deadline_ns, jp->cancel, *part.source);
      },
      [this, jp] {
        std::lock_guard<std::mutex> lock(mu);
        jp->done = true;
        done.push_back(jp);
        cv.notify_all();
      });
  return true;
}

// A part came back from its thread: its answer joins the message's.
void Engine::Impl::absorb(Job& job) {
  Job::Part& p = job.part;
  stats.add(p.stats);
  if (p.ran_ns > kSliceNs) job.reply.slow = true;
  if (p.group != 0) {
    job.reply.groups.push_back(p.group);
    note_group(p.db, p.group);
  }
  pack_part(job, p.r, p.body, p.error);
  p.source.reset();
}

// Takes what the threads finished: answers parts, continues their jobs on
// the loop, and moves finished WebSocket jobs to `finished`.
void Engine::Impl::collect() {
  std::deque<std::shared_ptr<Job>> got;
  {
    std::lock_guard<std::mutex> lock(mu);
    got.swap(done);
  }
  for (std::shared_ptr<Job>& jp : got) {
    Job& job = *jp;
    if (job.abandoned) {
      // Nobody waits for its answer, but a group it opened must be
      // committed soon: it holds the database's write lock.
      note_group(job.part.db, job.part.group);
      std::erase(abandoned, jp);
      continue;
    }
    if (job.part.fetching) {
      job.part.fetching = false;
      Database* d = nullptr;
      Error e = job.part.error;
      if (e.ok()) e = database(job.part.db, d);  // it may have been closed meanwhile
      if (e.ok()) {
        job.part.d = d;
        hand_off(jp, true);
        continue;
      }
      job.part.source.reset();
      pack_part(job, job.part.r, job.part.body, e);
    } else {
      absorb(job);
    }
    if (step(jp)) {
      parked.erase(job.tag);
      finished.emplace_back(job.tag, std::move(job.reply));
    }
  }
}

// An HTTP (or direct) message whose request left the loop: wait for it,
// for HTTP at most until the message's loop deadline, then give up on it
// (the request is cancelled and rolled back; it and the rest of the
// message answer `timeout`).
void Engine::Impl::wait_http(const std::shared_ptr<Job>& jp) {
  Job& job = *jp;
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(std::max<int64_t>(
                                                            0, job.loop_deadline_ns - now_ns()));
  auto part_done = [&] { return job.done; };
  while (true) {
    std::unique_lock<std::mutex> lock(mu);
    const bool in_time = job.loop_deadline_ns == 0 ? (cv.wait(lock, part_done), true)
                                                   : cv.wait_until(lock, until, part_done);
    if (!in_time && !job.claimed) {
      job.abandoned = true;
      job.cancel = true;
      lock.unlock();
      abandoned.push_back(jp);
      const Error e{Err::kTimeout,
                    fmt::format("a POST /rpc message may hold the server {} s (--http-timeout); "
                                "send longer ones over a WebSocket",
                                config.http_timeout)};
      while (job.next < job.parts.size()) {
        Request r;
        (void)parse_request(job.parts[job.next], r);
        Body body;
        pack_part(job, r, body, e);
      }
      finish(job);
      return;
    }
    cv.wait(lock, part_done);  // claimed: it is finishing
    std::erase(done, jp);
    lock.unlock();
    absorb(job);
    if (step(jp)) return;
  }
}

Error Engine::Impl::dispatch(OpContext& c) {
  switch (c.r.op) {
    case Op::kTables:
      return op_tables(c);
    case Op::kSchema:
      return op_schema(c);
    case Op::kCreate:
      return op_create(c);
    case Op::kDrop:
      return op_drop(c);
    case Op::kInsert:
      return op_insert(c);
    case Op::kSelect:
      return op_select(c);
    case Op::kCount:
      return op_count(c);
    case Op::kUpdate:
      return op_update(c);
    case Op::kDelete:
      return op_delete(c);
    case Op::kSql:
      return op_sql(c);
    case Op::kMerge:
      return op_merge(c);
    default:
      return {Err::kInternal, "operation not dispatched"};
  }
}

Engine::Reply Engine::handle(std::string_view message, bool msgpack, std::string_view db,
                             std::string_view cap, Via via) {
  if (via == Via::kWebSocket) via = Via::kDirect;  // submit() is the WebSocket way
  auto job = impl_->make_job(message, msgpack, db, cap, via);
  if (!impl_->step(job)) impl_->wait_http(job);
  return std::move(job->reply);
}

bool Engine::submit(uint64_t tag, std::string_view message, bool msgpack, std::string_view db,
                    std::string_view cap, bool offload, Reply& reply) {
  auto job = impl_->make_job(message, msgpack, db, cap, Via::kWebSocket);
  job->tag = tag;
  job->offload = offload;
  if (!impl_->step(job)) {
    reply.authenticated = job->reply.authenticated;  // known before it left the loop
    return false;
  }
  reply = std::move(job->reply);
  return true;
}

std::vector<std::pair<uint64_t, Engine::Reply>> Engine::poll() {
  impl_->collect();
  std::vector<std::pair<uint64_t, Reply>> out;
  out.swap(impl_->finished);
  return out;
}

size_t Engine::in_flight() const {
  return impl_->parked.size() + impl_->abandoned.size();
}

void Engine::cancel(uint64_t tag) {
  auto it = impl_->parked.find(tag);
  if (it == impl_->parked.end()) return;
  std::shared_ptr<Job> job = it->second;
  impl_->parked.erase(it);
  job->cancel = true;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    job->abandoned = true;
  }
  impl_->abandoned.push_back(std::move(job));
}

}  // namespace w::sql
