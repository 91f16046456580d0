// Engine: the databases of a directory, the capabilities that reach them,
// the operations on databases themselves, and the group bookkeeping.
// Messages are run in jobs.cc (see engine_impl.h for the threading model).
//
// The capability is checked twice: in jobs.cc against the operation's
// rights (a clear refusal before any SQL), and inside SQLite by the
// authorizer against every table and column a statement touches
// (authorizer.cc).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "engine_impl.h"

namespace w::sql {
namespace {

constexpr size_t kMaxFailures = 1024;  // group failures remembered for replies

Error denied(std::string message) {
  return {Err::kDenied, std::move(message)};
}

}  // namespace

void EngineStats::add(const EngineStats& o) {
  requests += o.requests;
  for (size_t i = 0; i < by_op.size(); ++i) by_op[i] += o.by_op[i];
  for (size_t i = 0; i < by_error.size(); ++i) by_error[i] += o.by_error[i];
  rows_read += o.rows_read, rows_written += o.rows_written;
  commits += o.commits, commit_failures += o.commit_failures, commit_ns += o.commit_ns;
  handoffs += o.handoffs, copies += o.copies;
}

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
  // One bound on everything SQLite allocates in this process: statements
  // being compiled, sorts (temp_store=MEMORY), caches, in-memory databases.
  // Past it a statement fails with SQLITE_NOMEM instead of the process.
  sqlite3_hard_heap_limit64(static_cast<sqlite3_int64>(config.max_memory));
  sqlite3_soft_heap_limit64(static_cast<sqlite3_int64>(config.max_memory) / 4 * 3);
  if (mkdir(config.dir.c_str(), 0755) != 0 && errno != EEXIST)
    return errno_status(fmt::format("create directory '{}'", config.dir), errno);
  struct stat st {};
  if (stat(config.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::Invalid(fmt::format("'{}' is not a directory", config.dir));
  // The directory as it is now, links resolved: databases are opened with
  // SQLITE_OPEN_NOFOLLOW below it, so a link put in later is refused.
  char real[PATH_MAX];
  if (!realpath(config.dir.c_str(), real))
    return errno_status(fmt::format("resolve '{}'", config.dir), errno);
  m.dir = real;
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

Engine::Impl::~Impl() {
  // Whatever still runs on other threads stops at its next check; the
  // workers are joined when `open` and `copiers` go.
  std::lock_guard<std::mutex> lock(mu);
  for (auto& [tag, job] : parked) job->cancel = true;
  for (auto& job : abandoned) job->cancel = true;
}

const EngineStats& Engine::stats() const {
  impl_->stats.open_databases = impl_->open.size();
  return impl_->stats;
}

bool Engine::pending() const {
  return !impl_->open_groups.empty();
}

void Engine::Impl::note_group(const std::string& db, uint64_t group) {
  if (group == 0) return;
  auto it = last_closed.find(db);
  if (it != last_closed.end() && group <= it->second) return;  // committed meanwhile
  open_groups.insert(group);
}

Error Engine::Impl::commit_one(const std::string& name, Database& d) {
  if (!d.in_group()) return {};
  const uint64_t group = d.group();
  const int64_t t0 = now_ns();
  Error e = d.commit();
  stats.commit_ns += static_cast<uint64_t>(now_ns() - t0);
  ++stats.commits;
  open_groups.erase(group);
  last_closed[name] = group;
  if (!e.ok()) {
    ++stats.commit_failures;
    failed.emplace(group, e.message);
    while (failed.size() > kMaxFailures) failed.erase(failed.begin());
  }
  return e;
}

std::vector<std::pair<std::string, std::string>> Engine::commit() {
  std::vector<std::pair<std::string, std::string>> failures;
  for (auto& [name, d] : impl_->open) {
    if (d->busy() || !d->in_group()) continue;  // a worker's: committed when it is back
    if (Error e = impl_->commit_one(name, *d); !e.ok()) failures.emplace_back(name, e.message);
  }
  return failures;
}

Engine::Outcome Engine::outcome(const Reply& r, std::string* why) const {
  for (uint64_t g : r.groups) {
    if (auto it = impl_->failed.find(g); it != impl_->failed.end()) {
      if (why) *why = it->second;
      return Outcome::kFailed;
    }
    if (impl_->open_groups.count(g)) return Outcome::kWait;
  }
  return Outcome::kOk;
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
      if (memory.count(name) || db->in_group() || db->busy()) continue;
      if (last_used[name] < oldest) oldest = last_used[name], victim = name;
    }
    if (victim.empty()) return;
    open.erase(victim);
    last_used.erase(victim);
  }
}

// A database file and its WAL and SHM must be regular files, not links:
// a link would lead the server's rights outside its directory.
Error Engine::Impl::check_path(const std::string& name) const {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    struct stat st {};
    const std::string file = path_of(name) + suffix;
    if (lstat(file.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      return denied(
          fmt::format("database '{}': '{}{}' is not a regular file (a symbolic link?); "
                      "wsql serves only regular files in its directory",
                      name, name, std::string(".db") + suffix));
  }
  return {};
}

Error Engine::Impl::database(const std::string& name, Database*& out) {
  last_used[name] = ++clock;
  if (auto it = open.find(name); it != open.end()) {
    out = it->second.get();
    return {};
  }
  Error e = check_path(name);
  auto d = e.ok() ? Database::open(name, path_of(name), false, db_options)
                  : Result<std::unique_ptr<Database>>(Status(Code::kDenied, e.message));
  if (!d.ok()) {
    last_used.erase(name);
    const Code code = d.status().code();
    return {code == Code::kNotFound ? Err::kNotFound
            : code == Code::kDenied ? Err::kDenied
                                    : Err::kInternal,
            d.status().message()};
  }
  out = d->get();
  open[name] = std::move(*d);
  evict();
  return {};
}

Error Engine::Impl::op_databases(const cap::Capability& c, Body& body) {
  std::set<std::string> names(memory.begin(), memory.end());
  if (DIR* dir_handle = opendir(dir.c_str())) {
    while (dirent* ent = readdir(dir_handle)) {
      std::string_view file = ent->d_name;
      if (file.size() <= 3 || file.substr(file.size() - 3) != ".db") continue;
      std::string name(file.substr(0, file.size() - 3));
      // Links and other non-files are not databases of this server.
      struct stat st {};
      if (lstat(path_of(name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (cap::valid_name(name)) names.insert(name);
    }
    closedir(dir_handle);
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
  if (Error e = check_path(name); !e.ok()) return e;
  struct stat st {};
  if (memory.count(name) || lstat(path_of(name).c_str(), &st) == 0) {
    if (r.if_not_exists) return body.key("created").boolean(false), Error{};
    return {Err::kExists, fmt::format("database '{}' already exists", name)};
  }
  auto d = Database::open(name, path_of(name), true, db_options);
  if (!d.ok())
    return {d.status().code() == Code::kDenied ? Err::kDenied : Err::kInternal,
            d.status().message()};
  open[name] = std::move(*d);
  last_used[name] = ++clock;
  evict();
  body.key("created").boolean(true);
  return {};
}

Error Engine::Impl::op_drop_db(const Request& r, const std::string& name, Body& body) {
  if (memory.count(name))
    return bad_request(fmt::format("'{}' is an in-memory database of the server (--memory)", name));
  if (Error e = check_path(name); !e.ok()) return e;
  const std::string path = path_of(name);
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (r.if_exists) return body.key("dropped").boolean(false), Error{};
    return {Err::kNotFound, fmt::format("database '{}' does not exist", name)};
  }
  if (auto it = open.find(name); it != open.end()) {
    if (it->second->busy())
      return {Err::kBusy, fmt::format("database '{}' is running a long request; retry", name)};
    // Writes other clients are waiting on are committed before the drop.
    if (Error e = commit_one(name, *it->second); !e.ok()) return e;
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
  auto rights = cap::parse_rights(r.rights.empty() ? "all" : r.rights, right_names());
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
