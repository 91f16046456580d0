// wsql: SQLite databases served over HTTP and WebSocket, guarded by
// capabilities, and the client that talks to them. Read man/wsql.1 for the
// protocol; this header is the library's face for tools/wsql and tests.
//
//   Engine     executes requests (JSON or msgpack) against the databases in
//              a directory; no network, so tests drive it directly.
//   serve()    puts an Engine behind a w::net::Server: POST /rpc,
//              WebSocket on /DB, /metrics, /api/status; group commit.
//   Client     ws:// or http:// URL -> pipelined requests and responses.
//   run_*()    the client subcommands (query, insert, databases, ...).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "w/cap.h"
#include "w/status.h"

namespace w::sql {

/// The capability service name.
inline constexpr std::string_view kService = "wsql";

/// Rights of a wsql capability (bits of cap::Capability::rights).
enum Right : uint32_t {
  kRead = 1,   ///< select, count, tables, schema, read-only sql
  kWrite = 2,  ///< insert, update, delete rows
  kTable = 4,  ///< create and drop tables (and indexes, views, triggers)
  kDb = 8,     ///< create and drop databases
  kAllRights = 15,
};
cap::RightNames right_names();

// ---------------------------------------------------------------- server

struct EngineConfig {
  std::string dir;     ///< one NAME.db file per database
  std::string secret;  ///< HMAC secret for capabilities ("" = none)
  std::string key;     ///< a plain shared key with every right ("" = none)
  std::vector<std::pair<std::string, std::string>> maps;  ///< --map NAME=FILE.csv
  std::vector<std::string> memory;                        ///< --memory NAME
  double timeout = 10;            ///< seconds all statements of one message may run
  double http_timeout = 1;        ///< seconds a POST /rpc message may hold the event loop
  size_t max_result = 16u << 20;  ///< bytes of rows in one answer (a batch's, all together)
  size_t max_memory = 1u << 30;   ///< SQLite's heap in this process (hard limit)
  int busy_ms = 2000;             ///< wait for another process's lock
  std::string csv_module = "/usr/lib/x86_64-linux-gnu/libsqlite3_mod_csvtable.so";
  size_t max_open = 128;  ///< database files kept open at once
};

struct EngineStats {
  uint64_t requests = 0;
  std::array<uint64_t, 16> by_op{};     ///< indexed by the Op enum
  std::array<uint64_t, 10> by_error{};  ///< indexed by the Err enum
  uint64_t rows_read = 0, rows_written = 0;
  uint64_t commits = 0, commit_failures = 0;
  uint64_t commit_ns = 0;  ///< time spent in COMMIT (fsync)
  uint64_t open_databases = 0;
  uint64_t handoffs = 0;  ///< requests run on a database's worker thread
  uint64_t copies = 0;    ///< copy operations that read a source

  /// Adds the counters of `o` (a request run on another thread).
  void add(const EngineStats& o);
};

/// How a message reached the engine; it decides where its work may run.
enum class Via {
  kDirect,     ///< the caller's thread runs everything (tests, tools)
  kHttp,       ///< POST /rpc: answered before the event loop goes on
  kWebSocket,  ///< may be handed to worker threads and answered later
};

class Engine {
 public:
  /// Checks the directory, the maps and the memory databases; sets
  /// SQLite's process-wide heap limit to config.max_memory.
  static Result<std::unique_ptr<Engine>> open(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  struct Reply {
    std::string bytes;             ///< the response, in the request's format
    std::vector<uint64_t> groups;  ///< group transactions it must wait for
    std::vector<std::string> ids;  ///< raw msgpack ids of its requests (for failures)
    bool batch = false;            ///< the message was an array
    bool slow = false;             ///< a request outran the event loop's slice
    std::string error;             ///< error code of the last failed request ("" = none)
    bool authenticated = false;    ///< a request's capability (or key) checked out
  };

  /// Executes one message: a request or an array of requests, JSON text or
  /// msgpack. `db` and `cap` apply to requests that name none. If
  /// reply.groups is not empty the reply must wait for commit(). With
  /// Via::kHttp the calling (event-loop) thread is held at most
  /// http_timeout; Via::kWebSocket is for submit().
  Reply handle(std::string_view message, bool msgpack, std::string_view db, std::string_view cap,
               Via via = Via::kDirect);

  /// Starts a WebSocket message. True if it finished (`reply` is set);
  /// false if part of it was handed to a worker thread: its reply comes
  /// from poll() with `tag` (reply.authenticated is set already). With `offload` its requests go to
  /// worker threads at once (the connection's last message was slow).
  bool submit(uint64_t tag, std::string_view message, bool msgpack, std::string_view db,
              std::string_view cap, bool offload, Reply& reply);
  /// Replies of submitted messages that finished since the last call.
  std::vector<std::pair<uint64_t, Reply>> poll();
  /// Messages submitted and not yet returned by poll().
  size_t in_flight() const;
  /// Stops the submitted message `tag` (its connection closed): its
  /// reply is dropped and its writes are rolled back.
  void cancel(uint64_t tag);

  /// True while some database has an open group transaction.
  bool pending() const;
  /// Commits every open group it can (not those of databases a worker is
  /// using); returns the databases whose commit failed, with the reason.
  std::vector<std::pair<std::string, std::string>> commit();

  enum class Outcome { kWait, kOk, kFailed };
  /// Whether the groups `r` depends on are committed; `why` for kFailed.
  Outcome outcome(const Reply& r, std::string* why) const;

  /// The reply to send instead of `r` when its commit failed.
  static std::string failed_reply(const Reply& r, bool msgpack, std::string_view why);

  const EngineStats& stats() const;

  struct Impl;

 private:
  Engine() = default;
  std::unique_ptr<Impl> impl_;
};

struct ServeOptions {
  EngineConfig engine;
  std::string listen = "127.0.0.1:7080";
  size_t max_message = 64u << 20;  ///< largest request message
  double commit_ms = 1;            ///< longest a group commit waits for company (0: never)
  size_t max_connections = 0;      ///< 0: what the descriptor limit leaves after the databases
  double auth_timeout = 10;        ///< seconds a connection may go without a valid capability
  double idle_timeout = 300;       ///< seconds an authenticated WebSocket may send nothing
  std::string ssl_key;             ///< PEM private key: serve https and wss (with ssl_cert)
  std::string ssl_cert;            ///< PEM certificate chain; both read again on SIGHUP
  int busy_poll_us = 0;            ///< net::ServerConfig::busy_poll_us (--busy-poll)
};

/// Serves until SIGINT/SIGTERM. Logs "listening on HOST:PORT" at start.
Status serve(const ServeOptions& options);

// ---------------------------------------------------------------- client

/// Where a client URL points: ws://HOST:PORT/DB[/TABLE]?cap=CAP (or
/// wss://, http://, https://); behind a proxy that serves wsql under a
/// path, wss://HOST/PREFIX/?db=DB[&table=TABLE]&cap=CAP.
struct Target {
  bool websocket = true;
  bool tls = false;  ///< wss:// or https://
  std::string host;
  int port = 80;
  std::string base;   ///< path prefix before the database ("" or "/sql")
  std::string db;     ///< "" = none (databases, create_db name it themselves)
  std::string table;  ///< "" = none
  std::string cap;
  /// "wss://host:port" (or ws, http, https), without the path.
  std::string origin() const;
};

/// Parses a URL; `cap` (from --cap) is used when the URL has none.
Result<Target> parse_target(std::string_view url, std::string_view cap);

/// A connection to a wsql server. Requests and responses are msgpack maps;
/// send() may run ahead of receive() (pipelining): answers come in order.
class Client {
 public:
  static Result<std::unique_ptr<Client>> connect(const Target& target, double timeout_s);
  virtual ~Client() = default;
  /// Queues one request (msgpack map bytes; db and cap come from the URL).
  virtual Status send(std::string request) = 0;
  /// The next response, in order. Error responses come back as a Status
  /// whose code follows the error code (denied -> kDenied, not_found ->
  /// kNotFound, bad_request -> kInvalid, others -> kFailed/kTimeout).
  virtual Result<std::string> receive() = 0;
  /// send() then receive(); for one request at a time.
  Result<std::string> call(std::string request);
  /// How long receive() waits from now on (seconds).
  virtual void set_timeout(double seconds) = 0;
};

struct ClientOptions {
  std::string cap;              ///< --cap, when the URL has none
  std::string format = "json";  ///< json, csv, tsv, table, msgpack
  double timeout = 60;          ///< seconds to connect and to wait for an answer
  int batch = 10000;            ///< insert: rows per request
  int window = 4;               ///< insert/copy: requests in flight
  bool create = false;          ///< insert: the database and table, copy: the table, if missing
  std::string conflict;         ///< insert/copy: "", "ignore" or "replace"
};

Status run_query(const ClientOptions& o, const std::string& url, const std::string& sql,
                 const std::vector<std::string>& params);
/// Reads records (JSON Lines or msgpack) from `fd` into TABLE in batches.
Status run_insert(const ClientOptions& o, const std::string& url, const std::string& table, int fd);
Status run_databases(const ClientOptions& o, const std::string& url);
/// Creates the URL's database; with `if_missing` an existing one is no error.
Status run_create(const ClientOptions& o, const std::string& url, bool if_missing);
/// Deletes the URL's database and its tables; refuses unless `yes`.
Status run_drop(const ClientOptions& o, const std::string& url, bool yes, bool if_exists);
Status run_tables(const ClientOptions& o, const std::string& url);
Status run_schema(const ClientOptions& o, const std::string& url, const std::string& table);
/// Copies SRC_URL/TABLE into DST_URL/TABLE, page by page.
Status run_copy(const ClientOptions& o, const std::string& src, const std::string& dst);

struct CapOptions {
  std::string secret_file;  ///< mint locally with this secret...
  std::string key;          ///< ...or with a plain key as the secret
  std::string url;          ///< ...or ask this server to restrict the URL's capability
  std::string db = "*";
  std::string rights = "read";
  double expires_in = 0;  ///< seconds from now; 0 = never
};
/// Prints a capability string on stdout.
Status run_cap(const CapOptions& o, const ClientOptions& client);

}  // namespace w::sql
