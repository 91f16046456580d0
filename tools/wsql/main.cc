// wsql: SQLite over RPC with capability rights — the server and its client.
// One table of subcommands; each is a thin shell over w::sql.
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "secret_new.h"
#include "w/cap.h"
#include "w/cli.h"
#include "w/net_client.h"
#include "w/sql.h"

namespace {

constexpr const char* kExamples =
    "  wsql secret new ./wsql.secret\n"
    "  wsql serve --dir ./data --listen 127.0.0.1:7080 --secret ./wsql.secret &\n"
    "  wsql cap --secret ./wsql.secret --db runs --rights all\n"
    "  wsql create 'ws://127.0.0.1:7080/runs?cap=CAP'\n"
    "  wsql 'ws://127.0.0.1:7080/runs?cap=CAP' 'SELECT id, loss FROM models WHERE loss < ?' 0.1\n"
    "  wrun -k mlp.so < in.jsonl | wsql insert --create 'ws://127.0.0.1:7080/runs?cap=CAP' "
    "results\n"
    "  wsql tables 'ws://127.0.0.1:7080/runs?cap=CAP'\n"
    "  wsql copy 'ws://a:7080/runs/models?cap=C1' 'ws://b:7080/archive/models?cap=C2' --create\n"
    "  wsql serve --dir ./data --listen 0.0.0.0:7443 --secret s --sslkey key.pem --sslcert "
    "cert.pem\n"
    "  wsql 'wss://lab.example.org/sql/?db=runs&cap=CAP' 'SELECT count(*) FROM models'\n";

struct Options {
  w::sql::ServeOptions serve;
  w::sql::ClientOptions client;
  w::sql::CapOptions cap;
  std::string secret_file, statement_timeout = "10s", http_timeout = "1s", timeout = "60s",
                           expires = "0";
  std::string auth_timeout = "10s", idle_timeout = "5m", busy_poll = "0", commit_delay = "1ms";
  std::vector<std::string> maps;
  std::string url, sql, table, src, dst;
  std::vector<std::string> params;
  w::net::TlsOptions tls;
  bool yes = false, lenient = false;
};

// The client commands' connection settings, applied as each one starts.
w::sql::ClientOptions& client(Options& o) {
  o.client.timeout = *w::cli::parse_seconds(o.timeout);
  w::net::set_default_tls(o.tls);
  return o.client;
}

void add_client(CLI::App& app, Options& o) {
  app.add_option("--cap", o.client.cap, "Capability, when the URL has no ?cap=")->type_name("CAP");
  app.add_option("--timeout", o.timeout,
                 "Wait this long to connect (retrying a server that is down) and for each answer")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--cacert", o.tls.cacert,
                 "wss://, https://: trust the CAs in this PEM file instead of the system's")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", o.tls.insecure,
               "wss://, https://: do not check the server's certificate (warns; for tests only)");
}

void add_serve(CLI::App& app, Options& o) {
  app.add_option("--dir", o.serve.engine.dir, "Directory of the databases (one NAME.db each)")
      ->type_name("DIR")
      ->required();
  app.add_option("--listen", o.serve.listen,
                 "Address to listen on: HOST:PORT, [IPV6]:PORT or *:PORT (port 0 = any free)")
      ->type_name("ADDR")
      ->capture_default_str();
  app.add_option("--secret", o.secret_file,
                 "File with the HMAC secret for capabilities (created if missing)")
      ->type_name("FILE");
  app.add_option("--key", o.serve.engine.key,
                 "A plain shared key with every right (for a trusted LAN)")
      ->type_name("KEY");
  app.add_option("--map", o.maps, "Serve FILE.csv as the read-only table NAME in every database")
      ->type_name("NAME=FILE.csv");
  app.add_option("--memory", o.serve.engine.memory, "Serve an in-memory database NAME (repeatable)")
      ->type_name("NAME");
  app.add_option("--statement-timeout", o.statement_timeout,
                 "Time budget of one message: all its statements, a batch's together")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--http-timeout", o.http_timeout,
                 "Time a POST /rpc message may hold the server (WebSockets wait for no one)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--max-result", o.serve.engine.max_result,
                 "Most bytes of rows in one answer (a batch's together)")
      ->type_name("BYTES")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  app.add_option("--max-memory", o.serve.engine.max_memory,
                 "Most bytes SQLite may allocate in the server (statements, sorts, caches)")
      ->type_name("BYTES")
      ->capture_default_str()
      ->check(CLI::Range(size_t{64} << 20, size_t{1} << 40));
  app.add_option("--max-connections", o.serve.max_connections,
                 "Most connections at once (default: what ulimit -n leaves after the databases)")
      ->type_name("N")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--auth-timeout", o.auth_timeout,
                 "Close a connection that shows no valid capability this long")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--idle-timeout", o.idle_timeout,
                 "Close a WebSocket that sends no request this long (0 = never)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--commit-delay", o.commit_delay,
                 "Longest a group commit waits for more writes once groups hold two or more "
                 "(0 = never waits)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--busy-poll", o.busy_poll,
                 "After a request, look for the next this long without sleeping (e.g. 0.2ms; "
                 "0 = never): lower latency one request at a time, a core busy while they come")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  app.add_option("--sslkey", o.serve.ssl_key, "PEM private key: serve https and wss only")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  app.add_option("--sslcert", o.serve.ssl_cert,
                 "PEM certificate chain for --sslkey (both read again on SIGHUP)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
}

w::Status run_serve(Options& o) {
  w::net::set_default_tls(o.tls);  // copy's source servers
  if (o.secret_file.empty() && o.serve.engine.key.empty())
    return w::Status::Invalid("serve: give --secret FILE or --key KEY");
  if (!o.secret_file.empty()) {
    auto secret = w::cap::load_or_create_secret(o.secret_file);
    if (!secret.ok()) return secret.status();
    o.serve.engine.secret = *secret;
  }
  for (const std::string& m : o.maps) {
    size_t eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
      return w::Status::Invalid("--map wants NAME=FILE.csv, got '" + m + "'");
    o.serve.engine.maps.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  o.serve.engine.timeout = *w::cli::parse_seconds(o.statement_timeout);
  o.serve.engine.http_timeout = *w::cli::parse_seconds(o.http_timeout);
  if (o.serve.engine.http_timeout <= 0)
    return w::Status(w::Code::kUsage, "--http-timeout must be more than 0");
  o.serve.auth_timeout = *w::cli::parse_seconds(o.auth_timeout);
  o.serve.idle_timeout = *w::cli::parse_seconds(o.idle_timeout);
  o.serve.commit_ms = *w::cli::parse_seconds(o.commit_delay) * 1e3;
  if (o.serve.commit_ms > 1000)
    return w::Status(w::Code::kUsage, "--commit-delay: at most 1s (default 1ms)");
  const double busy_poll = *w::cli::parse_seconds(o.busy_poll);
  if (busy_poll > 1) return w::Status(w::Code::kUsage, "--busy-poll: at most 1s (try 0.2ms)");
  o.serve.busy_poll_us = static_cast<int>(busy_poll * 1e6);
  return w::sql::serve(o.serve);
}

void add_cap(CLI::App& app, Options& o) {
  app.add_option("url", o.cap.url, "Ask this server for a weaker copy of the URL's capability");
  app.add_option("--secret", o.cap.secret_file,
                 "Mint with the secret in this file (never created: see 'wsql secret new')")
      ->type_name("FILE");
  app.add_option("--key", o.cap.key, "Mint with the server's shared key as the secret")
      ->type_name("KEY");
  app.add_option("--db", o.cap.db, "Database it is for, or * for all")
      ->type_name("NAME")
      ->capture_default_str();
  app.add_option("--rights", o.cap.rights, "Rights: read, write, table, db, all (comma-separated)")
      ->type_name("RIGHTS")
      ->capture_default_str();
  app.add_option("--expires", o.expires, "Valid for this long (30m, 24h; 0 = forever)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  add_client(app, o);
}

w::Status run_cap(Options& o) {
  o.cap.expires_in = *w::cli::parse_seconds(o.expires);
  return w::sql::run_cap(o.cap, client(o));
}

void add_query(CLI::App& app, Options& o) {
  app.add_option("url", o.url, "Database URL: ws://HOST:PORT/DB?cap=CAP (or http://)")->required();
  app.add_option("sql", o.sql, "One SQL statement; ? marks a parameter")->required();
  app.add_option("params", o.params, "Values for the ?s (JSON if they parse as JSON, else text)");
  app.add_option("-f,--format", o.client.format,
                 "Output: json (JSON Lines), csv, tsv, table, msgpack")
      ->type_name("FORMAT")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "jsonl", "csv", "tsv", "table", "msgpack"}));
  add_client(app, o);
}

void add_insert(CLI::App& app, Options& o) {
  app.add_option("url", o.url, "Database URL")->required();
  app.add_option("table", o.table, "Table to insert into (or URL/DB/TABLE)");
  app.add_option("--batch", o.client.batch, "Rows per request")
      ->type_name("N")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_flag("--create", o.client.create,
               "Create the database (with the db right) and the table from the first record if "
               "missing");
  app.add_option("--conflict", o.client.conflict, "On a duplicate key: abort, ignore or replace")
      ->type_name("HOW")
      ->check(CLI::IsMember({"abort", "ignore", "replace"}));
  add_client(app, o);
}

void add_url_only(CLI::App& app, Options& o) {
  app.add_option("url", o.url, "Server or database URL")->required();
  add_client(app, o);
}

void add_create(CLI::App& app, Options& o) {
  app.add_option("url", o.url, "Database URL: ws://HOST:PORT/DB (the db right)")->required();
  app.add_flag("--if-missing", o.lenient, "An existing database is no error");
  add_client(app, o);
}

void add_drop(CLI::App& app, Options& o) {
  app.add_option("url", o.url, "Database URL: ws://HOST:PORT/DB (the db right)")->required();
  app.add_flag("--yes", o.yes, "Really delete the database and all its tables (required)");
  app.add_flag("--if-exists", o.lenient, "A missing database is no error");
  add_client(app, o);
}

void add_schema(CLI::App& app, Options& o) {
  app.add_option("url", o.url, "Database URL")->required();
  app.add_option("table", o.table, "Only this table");
  add_client(app, o);
}

void add_copy(CLI::App& app, Options& o) {
  app.add_option("src", o.src, "Source: URL/DB/TABLE")->required();
  app.add_option("dst", o.dst, "Destination: URL/DB[/TABLE]")->required();
  app.add_flag("--create", o.client.create,
               "Create the destination table like the source if missing");
  app.add_option("--conflict", o.client.conflict, "On a duplicate key: abort, ignore or replace")
      ->type_name("HOW")
      ->check(CLI::IsMember({"abort", "ignore", "replace"}));
  add_client(app, o);
}

using Command = w::cli::Command<Options>;

constexpr Command kSecretCommands[] = {
    w::tools::secret_new_command<Options, &Options::secret_file>(
        "Create a secret file for serve --secret and cap --secret (mode 0600)",
        "  wsql secret new ./wsql.secret\n"),
};

constexpr Command kCommands[] = {
    {.name = "serve",
     .help = "Serve the databases in a directory over HTTP and WebSocket",
     .options = add_serve,
     .run = run_serve,
     .examples = "  wsql serve --dir ./data --listen 127.0.0.1:7080 --secret ./wsql.secret &\n"
                 "  wsql serve --dir ./data --listen 0.0.0.0:7443 --secret s --sslkey key.pem "
                 "--sslcert cert.pem\n"},
    {.name = "cap",
     .help = "Print a capability: minted with the secret, or restricted by a server",
     .options = add_cap,
     .run = run_cap,
     .examples = "  wsql cap --secret ./wsql.secret --db runs --rights all\n"},
    {.name = "query",
     .help = "Run one SQL statement and print its rows (the default command)",
     .options = add_query,
     .run = [](Options& o) { return w::sql::run_query(client(o), o.url, o.sql, o.params); },
     .examples =
         "  wsql 'ws://127.0.0.1:7080/runs?cap=CAP' 'SELECT id, loss FROM models WHERE loss < ?' "
         "0.1\n"
         "  wsql query 'ws://127.0.0.1:7080/runs?cap=CAP' 'SELECT count(*) FROM models'\n"},
    {.name = "insert",
     .help = "Insert the records on stdin (JSON Lines or msgpack) in batches",
     .options = add_insert,
     .run = [](Options& o) { return w::sql::run_insert(client(o), o.url, o.table, STDIN_FILENO); },
     .examples = "  wrun -k mlp.so < in.jsonl | wsql insert --create "
                 "'ws://127.0.0.1:7080/runs?cap=CAP' results\n"},
    {"create", "Create a database", add_create,
     [](Options& o) { return w::sql::run_create(client(o), o.url, o.lenient); }},
    {"drop", "Delete a database and its tables (with --yes)", add_drop,
     [](Options& o) { return w::sql::run_drop(client(o), o.url, o.yes, o.lenient); }},
    {"databases", "List the databases the capability can see", add_url_only,
     [](Options& o) { return w::sql::run_databases(client(o), o.url); }},
    {"tables", "List the tables of a database", add_url_only,
     [](Options& o) { return w::sql::run_tables(client(o), o.url); }},
    {"schema", "Print the tables' columns as JSON Lines", add_schema,
     [](Options& o) { return w::sql::run_schema(client(o), o.url, o.table); }},
    {.name = "copy",
     .help = "Copy a table from one wsql URL to another",
     .options = add_copy,
     .run = [](Options& o) { return w::sql::run_copy(client(o), o.src, o.dst); },
     .examples = "  wsql copy 'ws://a:7080/runs/models?cap=C1' "
                 "'ws://b:7080/archive/models?cap=C2' --create\n"},
    {"secret", "The server's capability secret", nullptr, nullptr, kSecretCommands},
};

// `wsql [OPTIONS] URL SQL ...` means `wsql query [OPTIONS] URL SQL ...`:
// a URL before any subcommand name starts a query.
std::vector<char*> with_default_command(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  static char query[] = "query";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    for (const Command& c : kCommands)
      if (arg == c.name) return args;
    if (arg.find("://") != std::string_view::npos) {
      args.insert(args.begin() + 1, query);
      return args;
    }
  }
  return args;
}

}  // namespace

// CLI11 throws while the flags are declared only for a programming error (a
// flag named twice), which every test run would hit: terminating is right.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  w::cli::Program prog("wsql", "SQLite databases over HTTP and WebSocket, guarded by capabilities.",
                       kExamples);
  Options o;
  std::vector<char*> args = with_default_command(argc, argv);
  return prog.run(static_cast<int>(args.size()), args.data(),
                  Command{"wsql", "", nullptr, nullptr, kCommands}, o);
}
