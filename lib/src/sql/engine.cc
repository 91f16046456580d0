// Engine: from a message to a reply. Decodes the requests, checks each
// one's capability (HMAC, service, database, rights mask), opens the
// database, runs the operation and packs the response.
//
// The capability is checked twice: here against the operation's rights
// (a clear refusal before any SQL), and inside SQLite by the authorizer
// against every table and column a statement touches (database.cc).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "database.h"
#include "ops.h"
#include "request.h"
#include "w/sql.h"

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

void pack_error(mp::Packer& pk, std::string_view id, const Error& e) {
  pk.map(id.empty() ? 1 : 2);
  if (!id.empty()) pk.str("id"), pk.raw(id);
  pk.str("error");
  pk.map(2);
  pk.str("code"), pk.str(err_name(e.code));
  pk.str("message"), pk.str(e.message);
}

Error denied(std::string message) {
  return {Err::kDenied, std::move(message)};
}

}  // namespace

cap::RightNames right_names() {
  return kRightNames;
}

struct Engine::Impl {
  EngineConfig config;
  DatabaseOptions db_options;
  std::optional<cap::Verifier> verifier;  // set by open()
  std::map<std::string, std::unique_ptr<Database>> open;
  std::unordered_map<std::string, uint64_t> last_used;
  uint64_t clock = 0;
  std::set<std::string> memory;
  std::set<std::string> grouped;  // databases with an open group transaction
  EngineStats stats;

  Error capability(std::string_view text, cap::Capability& out);
  Error database(const std::string& name, Database*& out);
  void evict();
  Error execute(const Request& r, std::string_view db, std::string_view cap_text, Body& body,
                Reply& reply);
  Error dispatch(OpContext& c);
  Error op_databases(const cap::Capability& c, Body& body);
  Error op_create_db(const Request& r, const std::string& name, Body& body);
  Error op_drop_db(const Request& r, const std::string& name, Body& body);
  Error op_restrict(const Request& r, std::string_view text, const std::string& db, Body& body);
  void run_one(std::string_view raw, std::string_view db, std::string_view cap, mp::Packer& pk,
               Reply& reply);
  std::string path_of(const std::string& name) const { return config.dir + "/" + name + ".db"; }
};

Result<std::unique_ptr<Engine>> Engine::open(const EngineConfig& config) {
  if (config.secret.empty() && config.key.empty())
    return Status::Invalid("no secret: give a secret file or a shared key");
  std::unique_ptr<Engine> engine(new Engine());
  engine->impl_ = std::make_unique<Impl>();
  Impl& m = *engine->impl_;
  m.config = config;
  m.verifier.emplace(kService, config.secret, config.key, kAllRights);
  m.db_options.busy_ms = config.busy_ms;
  m.db_options.maps = config.maps;
  m.db_options.csv_module = config.csv_module;
  if (mkdir(config.dir.c_str(), 0755) != 0 && errno != EEXIST)
    return errno_status(fmt::format("create directory '{}'", config.dir), errno);
  struct stat st {};
  if (stat(config.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::Invalid(fmt::format("'{}' is not a directory", config.dir));
  for (const auto& [name, file] : config.maps) {
    if (!cap::valid_name(name))
      return Status::Invalid(fmt::format("--map: bad table name '{}'", name));
    if (access(file.c_str(), R_OK) != 0)
      return errno_status(fmt::format("--map {}: '{}'", name, file), errno);
  }
  // One scratch connection proves the maps and the module work now, not at
  // the first request.
  if (!config.maps.empty()) {
    auto probe = Database::open("(maps)", ":memory:", true, m.db_options);
    if (!probe.ok()) return probe.status();
  }
  for (const std::string& name : config.memory) {
    if (!cap::valid_name(name))
      return Status::Invalid(fmt::format("--memory: bad database name '{}'", name));
    auto d = Database::open(name, ":memory:", true, m.db_options);
    if (!d.ok()) return d.status();
    m.open[name] = std::move(*d);
    m.memory.insert(name);
  }
  return engine;
}

Engine::~Engine() = default;

const EngineStats& Engine::stats() const {
  impl_->stats.open_databases = impl_->open.size();
  return impl_->stats;
}

bool Engine::pending() const {
  return !impl_->grouped.empty();
}

std::vector<std::pair<std::string, std::string>> Engine::commit() {
  std::vector<std::pair<std::string, std::string>> failed;
  for (const std::string& name : impl_->grouped) {
    auto it = impl_->open.find(name);
    if (it == impl_->open.end()) continue;
    int64_t t0 = now_ns();
    Error e = it->second->commit();
    impl_->stats.commit_ns += static_cast<uint64_t>(now_ns() - t0);
    ++impl_->stats.commits;
    if (!e.ok()) {
      ++impl_->stats.commit_failures;
      failed.emplace_back(name, e.message);
    }
  }
  impl_->grouped.clear();
  return failed;
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

Engine::Reply Engine::handle(std::string_view message, bool msgpack, std::string_view db,
                             std::string_view cap) {
  Reply reply;
  std::string storage, out;
  std::vector<std::string_view> parts;
  mp::Packer pk(out);
  Error e = split_message(message, msgpack, storage, parts, reply.batch);
  if (!e.ok()) {
    ++impl_->stats.requests;
    ++impl_->stats.by_error[static_cast<size_t>(e.code)];
    pack_error(pk, {}, e);
    reply.ids.emplace_back();
    reply.error = err_name(e.code);
  } else {
    if (reply.batch) pk.array(static_cast<uint32_t>(parts.size()));
    for (std::string_view part : parts) impl_->run_one(part, db, cap, pk, reply);
  }
  if (msgpack) {
    reply.bytes = std::move(out);
  } else if (!mp::to_json(out, reply.bytes).ok()) {
    reply.bytes = R"({"error":{"code":"internal","message":"response is not JSON-representable"}})";
  }
  return reply;
}

void Engine::Impl::run_one(std::string_view raw, std::string_view db, std::string_view cap,
                           mp::Packer& pk, Reply& reply) {
  Request r;
  Body body;
  Error e = parse_request(raw, r);
  ++stats.requests;
  if (e.ok()) {
    ++stats.by_op[static_cast<size_t>(r.op)];
    e = execute(r, db, cap, body, reply);
  }
  reply.ids.emplace_back(r.id);
  if (!e.ok()) {
    ++stats.by_error[static_cast<size_t>(e.code)];
    pack_error(pk, r.id, e);
    reply.error = err_name(e.code);
    return;
  }
  pk.map(body.fields + (r.id.empty() ? 0 : 1));
  if (!r.id.empty()) pk.str("id"), pk.raw(r.id);
  pk.raw(body.buf);
}

Error Engine::Impl::capability(std::string_view text, cap::Capability& out) {
  if (text.empty())
    return denied("no capability: add ?cap=... to the URL, or 'cap' to the request");
  auto c = verifier->check(text);
  if (!c.ok()) return denied(c.status().message());
  out = *c;
  return {};
}

void Engine::Impl::evict() {
  while (open.size() > config.max_open) {
    std::string victim;
    uint64_t oldest = UINT64_MAX;
    for (const auto& [name, db] : open) {
      if (memory.count(name) || grouped.count(name)) continue;
      if (last_used[name] < oldest) oldest = last_used[name], victim = name;
    }
    if (victim.empty()) return;
    open.erase(victim);
    last_used.erase(victim);
  }
}

Error Engine::Impl::database(const std::string& name, Database*& out) {
  last_used[name] = ++clock;
  if (auto it = open.find(name); it != open.end()) {
    out = it->second.get();
    return {};
  }
  auto d = Database::open(name, path_of(name), false, db_options);
  if (!d.ok()) {
    last_used.erase(name);
    bool missing = d.status().code() == Code::kNotFound;
    return {missing ? Err::kNotFound : Err::kInternal, d.status().message()};
  }
  out = d->get();
  open[name] = std::move(*d);
  evict();
  return {};
}

Error Engine::Impl::execute(const Request& r, std::string_view default_db,
                            std::string_view cap_text, Body& body, Reply& reply) {
  cap::Capability c;
  std::string_view text = r.cap.empty() ? cap_text : std::string_view(r.cap);
  if (Error e = capability(text, c); !e.ok()) return e;
  reply.authenticated = true;  // the server lifts its pre-authentication limits
  const std::string db(r.db.empty() ? default_db : std::string_view(r.db));
  if (r.op == Op::kDatabases) return op_databases(c, body);
  if (r.op == Op::kRestrict) return op_restrict(r, text, db, body);
  if (db.empty())
    return bad_request(
        "no database: put it in the URL (ws://HOST:PORT/DB) or in the request's 'db'");
  if (!cap::valid_name(db))
    return bad_request(fmt::format("bad database name '{}' (1-64 of A-Z a-z 0-9 _ . -)", db));
  if (Status s = cap::authorize(c, rights_for(r.op), "database", db, kRightNames); !s.ok())
    return denied(s.message());
  if (r.op == Op::kCreateDb) return op_create_db(r, db, body);
  if (r.op == Op::kDropDb) return op_drop_db(r, db, body);
  Database* d = nullptr;
  if (Error e = database(db, d); !e.ok()) return e;
  d->begin_request(c.rights, config.timeout);
  OpContext ctx{r, *d, config, stats, body};
  Error e = dispatch(ctx);
  if (d->in_group()) {
    grouped.insert(db);
    if (std::find(reply.dbs.begin(), reply.dbs.end(), db) == reply.dbs.end())
      reply.dbs.push_back(db);
  }
  return e;
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
    case Op::kCopy:
      return op_copy(c);
    default:
      return {Err::kInternal, "operation not dispatched"};
  }
}

Error Engine::Impl::op_databases(const cap::Capability& c, Body& body) {
  std::set<std::string> names(memory.begin(), memory.end());
  if (DIR* dir = opendir(config.dir.c_str())) {
    while (dirent* ent = readdir(dir)) {
      std::string_view file = ent->d_name;
      if (file.size() <= 3 || file.substr(file.size() - 3) != ".db") continue;
      std::string name(file.substr(0, file.size() - 3));
      if (cap::valid_name(name)) names.insert(name);
    }
    closedir(dir);
  }
  std::vector<std::string> visible;
  for (const std::string& n : names)
    if (c.covers(n)) visible.push_back(n);
  mp::Packer& pk = body.key("databases");
  pk.array(static_cast<uint32_t>(visible.size()));
  for (const std::string& n : visible) pk.str(n);
  return {};
}

Error Engine::Impl::op_create_db(const Request& r, const std::string& name, Body& body) {
  if (memory.count(name) || access(path_of(name).c_str(), F_OK) == 0) {
    if (r.if_not_exists) return body.key("created").boolean(false), Error{};
    return {Err::kExists, fmt::format("database '{}' already exists", name)};
  }
  auto d = Database::open(name, path_of(name), true, db_options);
  if (!d.ok()) return {Err::kInternal, d.status().message()};
  open[name] = std::move(*d);
  last_used[name] = ++clock;
  evict();
  body.key("created").boolean(true);
  return {};
}

Error Engine::Impl::op_drop_db(const Request& r, const std::string& name, Body& body) {
  if (memory.count(name))
    return bad_request(fmt::format("'{}' is an in-memory database of the server (--memory)", name));
  const std::string path = path_of(name);
  if (access(path.c_str(), F_OK) != 0) {
    if (r.if_exists) return body.key("dropped").boolean(false), Error{};
    return {Err::kNotFound, fmt::format("database '{}' does not exist", name)};
  }
  if (auto it = open.find(name); it != open.end()) {
    // Writes other clients are waiting on are committed before the drop.
    if (Error e = it->second->commit(); !e.ok()) return e;
    grouped.erase(name);
    open.erase(it);
    last_used.erase(name);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string file = path + suffix;
    if (unlink(file.c_str()) != 0 && errno != ENOENT)
      return {Err::kInternal, fmt::format("remove '{}': {}", file, strerror(errno))};
  }
  body.key("dropped").boolean(true);
  return {};
}

Error Engine::Impl::op_restrict(const Request& r, std::string_view text, const std::string& db,
                                Body& body) {
  auto rights = cap::parse_rights(r.rights.empty() ? "all" : r.rights, kRightNames);
  if (!rights.ok()) return bad_request(rights.status().message());
  std::string from(text);
  const std::string& secret = verifier->hmac_secret();
  if (verifier->is_key(text))
    from = cap::mint(cap::Capability{std::string(kService), "*", kAllRights, 0}, secret);
  auto weaker = cap::restrict(from, secret, *rights, db, r.expires);
  if (!weaker.ok())
    return {weaker.status().code() == Code::kDenied ? Err::kDenied : Err::kBadRequest,
            weaker.status().message()};
  body.key("cap").str(*weaker);
  return {};
}

}  // namespace w::sql
