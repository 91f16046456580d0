// Inside the Engine: the open databases, the group bookkeeping, and the
// messages in flight (jobs). engine.cc has the databases and capabilities,
// jobs.cc runs messages, copy.cc reads copy sources.
//
// Threading model (the DESIGN note for wsql's concurrency):
//
//   The server's event loop owns the Engine. It runs each request of a
//   message on the loop thread as long as the request uses statements
//   already compiled and finishes within kSlice (50 ms): the common case,
//   with no thread hop (58,800 pipelined point SELECTs/s). Otherwise the
//   request is stopped, rolled back, and handed to its database's Worker
//   thread, which compiles, waits for locks and runs it within what is left
//   of the message's budget, while the loop serves everyone else; the
//   message's later requests continue on the loop when it comes back. A
//   connection whose message was slow sends its next one straight to the
//   worker. A database's requests stay in order: while its worker has work,
//   every request for it queues there. Copies read their source on one of
//   kMaxCopies threads, holding no database, then insert on the worker.
//
//   Chosen over sqlite3_interrupt() from a timer: an interrupt stops a slow
//   statement at its budget but the loop still waits for it, and nothing
//   stops SQLite 3.40 while it compiles (a 1.4 kB statement took 6.6 s).
//   Chosen over a worker for every request: the hop costs more than a
//   point SELECT, and the loop cannot be woken from another thread (w::net
//   allows nothing but stop()), so finished work is collected by a 1 ms
//   timer armed only while something is in flight.
//
//   Hand-over: a Database is touched by one thread at a time. The loop
//   posts to its Worker and touches it again only when Worker::pending()
//   reads 0; the worker reports a finished request on `done` under `mu`.
//   HTTP requests must be answered before the loop goes on (w::net's
//   on_http is synchronous): a request handed off is waited for at most
//   http_timeout, then abandoned (cancelled; its writes rolled back inside
//   a guard savepoint, decided under `mu` so it is either answered or
//   undone).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "database.h"
#include "ops.h"
#include "request.h"
#include "w/cap.h"
#include "w/sql.h"

namespace w::sql {

/// How long a request may run on the event loop before it is moved.
inline constexpr int64_t kSliceNs = 50'000'000;
/// Copies reading their source at once (each on its own thread).
inline constexpr size_t kMaxCopies = 4;

/// A copy source as read by fetch_source(): the schema answer (if the
/// destination is to be created) and the rows.
struct CopySource {
  std::string schema;              ///< a `schema` response about one table
  std::string columns;             ///< msgpack array of column names
  std::vector<std::string> pages;  ///< insert requests, one per page
  int64_t rows = 0;
};

/// Reads the source of a copy request within `deadline_ns` (copy.cc). Any
/// failure that is not a wsql error answer is reported as one message, at
/// the deadline, so the error tells nothing about the network.
Error fetch_source(const Request& r, int64_t deadline_ns, const std::atomic<bool>& cancel,
                   CopySource& out);
/// Inserts a fetched source into the request's table, in one savepoint.
Error copy_into(OpContext& c, const CopySource& source);

/// One message being executed. Shared between the loop and the thread
/// running its current request; fields below `part` belong to whoever
/// runs the part.
struct Job {
  uint64_t tag = 0;
  Via via = Via::kDirect;
  std::string_view view;  // the message: the caller's bytes, or `message`
  std::string message;    // owned once the job leaves the loop (own())
  bool msgpack = false;
  std::string conn_db, conn_cap;
  std::string storage;
  std::vector<std::string_view> parts;
  size_t next = 0;  // the part to run next
  std::string out;  // responses of the parts done
  Engine::Reply reply;
  int64_t deadline_ns = 0;       // the whole message's budget
  int64_t loop_deadline_ns = 0;  // Via::kHttp: the loop waits no longer
  size_t result_bytes = 0;       // rows answered so far
  bool offload = false;          // hand requests to workers without trying here
  std::atomic<bool> cancel{false};

  // The request in flight off the loop.
  struct Part {
    Request r;
    std::string db;
    uint32_t rights = 0;
    Database* d = nullptr;
    Body body;
    Error error;
    EngineStats stats;
    uint64_t group = 0;     // d's open group after it ran (0: none)
    int64_t ran_ns = 0;     // time it ran on the worker
    bool fetching = false;  // copy: reading the source
    std::unique_ptr<CopySource> source;

    void reset() {
      r = Request{};
      db.clear();
      rights = 0, d = nullptr;
      body.clear();
      error = {}, stats = {}, group = 0, ran_ns = 0, fetching = false;
      source.reset();
    }
  } part;
  bool done = false;       // the thread finished the part; guarded by Impl::mu
  bool claimed = false;    // the part's outcome stands; guarded by Impl::mu
  bool abandoned = false;  // HTTP gave up or the connection closed; guarded by Impl::mu
};

struct Engine::Impl {
  EngineConfig config;
  DatabaseOptions db_options;
  std::string dir;                        // config.dir, resolved: no symbolic link in it
  std::optional<cap::Verifier> verifier;  // set by open()
  EngineStats stats;

  // Finished parts, from worker and copy threads to the loop.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> done;                      // guarded by mu
  std::unordered_map<uint64_t, std::shared_ptr<Job>> parked;  // WebSocket jobs off the loop
  std::vector<std::shared_ptr<Job>> abandoned;                // HTTP jobs still running
  std::vector<std::pair<uint64_t, Reply>> finished;           // for poll()
  std::vector<std::unique_ptr<Worker>> copiers;               // up to kMaxCopies

  // Group bookkeeping (loop only): groups replies wait for, the last group
  // committed per database, and recent failures by group.
  std::set<uint64_t> open_groups;
  std::map<std::string, uint64_t> last_closed;
  std::map<uint64_t, std::string> failed;

  // Declared last: destroyed first, joining the workers while the fields
  // above they report to still exist.
  std::map<std::string, std::unique_ptr<Database>> open;
  std::unordered_map<std::string, uint64_t> last_used;
  uint64_t clock = 0;
  std::set<std::string> memory;

  ~Impl();

  // engine.cc
  Error capability(std::string_view text, cap::Capability& out);
  Error database(const std::string& name, Database*& out);
  void evict();
  Error op_databases(const cap::Capability& c, Body& body);
  Error op_create_db(const Request& r, const std::string& name, Body& body);
  Error op_drop_db(const Request& r, const std::string& name, Body& body);
  Error op_restrict(const Request& r, std::string_view text, const std::string& db, Body& body);
  Error check_path(const std::string& name) const;
  std::string path_of(const std::string& name) const { return dir + "/" + name + ".db"; }
  void note_group(const std::string& db, uint64_t group);
  Error commit_one(const std::string& name, Database& d);

  // jobs.cc
  std::shared_ptr<Job> make_job(std::string_view message, bool msgpack, std::string_view db,
                                std::string_view cap, Via via);
  bool step(const std::shared_ptr<Job>& job);
  bool run_part(const std::shared_ptr<Job>& job);
  void hand_off(const std::shared_ptr<Job>& job, bool slow);
  bool start_copy(const std::shared_ptr<Job>& job);
  void absorb(Job& job);
  void finish(Job& job);
  void wait_http(const std::shared_ptr<Job>& job);
  void pack_part(Job& job, const Request& r, Body& body, const Error& e);
  void collect();
  Error dispatch(OpContext& c);
};

}  // namespace w::sql
