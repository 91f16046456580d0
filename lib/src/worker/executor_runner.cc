// Native wrun's Runner (executor_runner.h): the executor of one campaign,
// the tasks waiting for it, and the relay of its coupled tasks' members.
#include "executor_runner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "host.h"
#include "w/diag.h"

namespace w::worker {

ExecutorRunner::~ExecutorRunner() {
  // The relay refers to the executor: it goes first.
  relay_.reset();
  executor_.reset();
}

// --sig wins over the pool's wsig: a worker may sit on a network that
// reaches wsig by another address.
void ExecutorRunner::welcome(const std::string& sig, size_t max_output) {
  sig_ = o_.sig.empty() ? sig : o_.sig;
  max_output_ = max_output;
}

bool ExecutorRunner::has_kernel(const std::string& sha) {
  struct stat st;
  return ::stat(path_of(sha).c_str(), &st) == 0;
}

// The previous campaign's executor (and the relay that refers to it) go
// now, so no task of the new campaign can reach the old kernel.
void ExecutorRunner::set_campaign(const Kernel& kernel) {
  relay_.reset();
  executor_.reset();
  waiting_.clear();
  load_failed_ = {};
  kernel_ = kernel;  // its sha is a sha256 (proto/ checked): safe in a file name
}

Status ExecutorRunner::load(std::string_view artifact) {
  const std::string path = path_of(kernel_.sha);
  if (!artifact.empty()) {
    W_RETURN_IF_ERROR(make_dirs(o_.cache));
    const std::string tmp = path + fmt::format(".{}.tmp", ::getpid());
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(artifact.data(), static_cast<std::streamsize>(artifact.size()));
      if (!out) return errno_status(fmt::format("write '{}'", tmp), errno);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      return errno_status(fmt::format("rename '{}'", tmp), errno);
  }
  sandbox::ExecutorConfig config;
  config.slot.kernel_path = path;
  config.slot.static_data = kernel_.static_data;
  config.slot.memory_mb = o_.memory_mb;
  config.slot.insecure_sandbox = o_.insecure_sandbox;
  if (max_output_ > 0) config.slot.max_output = max_output_;
  config.slots = o_.jobs;
  config.timeout = static_cast<double>(kernel_.timeout_ms) / 1000.0;
  config.on_checkpoint = [this](const sandbox::Task& task, std::string state) {
    if (!task.member()) return sink_->on_checkpoint(task.id, std::move(state));
    // A member's checkpoints are numbered from its run's start: the pool
    // restarts a failed run from the latest step every member saved.
    const int64_t step = task.step + ++member_steps_[{task.group, task.rank}];
    sink_->on_member_checkpoint(task.id, task.rank, step, std::move(state));
  };
  auto ex = std::make_unique<sandbox::Executor>(std::move(config));
  Status s = ex->start();
  if (!s.ok()) {
    // A kernel that cannot load here fails every task we hold, and every
    // task of the campaign sent later, with the reason (the pool counts the
    // attempts and moves on).
    load_failed_ = s;
    fail_waiting();
    return {};
  }
  executor_ = std::move(ex);
  if (!sig_.empty()) {
    relay_ = std::make_unique<RelayRouter>(sig_, *executor_);
    executor_->set_remote(relay_.get());
    listen_links();
  }
  feed();
  return {};
}

// Direct links listen where this host reaches wsig from (--link auto), or
// on --link HOST; without them (--link off, or no address) members talk
// through the relay alone.
void ExecutorRunner::listen_links() {
  if (o_.link == "off") return;
  std::string host = o_.link;
  if (host.empty() || host == "auto") {
    auto toward = local_address_toward(sig_);
    if (!toward.ok()) {
      diag::warning("{}; members on other workers talk through the relay",
                    toward.status().message());
      return;
    }
    host = *toward;
  }
  RelayRouter* router = relay_.get();
  auto links = listen_direct(
      host,
      [router](const std::string& group, int rank) { return router->link_secret(group, rank); },
      o_.link_tls);
  if (!links.ok()) {
    diag::warning("{}; members on other workers talk through the relay", links.status().message());
    return;
  }
  diag::debug("direct links: listening on {}{}", (*links)->address(), o_.link_tls ? " (TLS)" : "");
  relay_->set_direct(std::move(*links));
}

// Each waiting task fails with why the kernel cannot load: the pool counts
// the attempt and moves on, as for any failure.
void ExecutorRunner::fail_waiting() {
  std::deque<sandbox::Task> failed;
  failed.swap(waiting_);
  for (sandbox::Task& t : failed)
    sink_->on_outcome({t.id, false, {}, load_failed_.message(), 0, 0, t.group, t.rank});
}

void ExecutorRunner::submit(sandbox::Task task, const std::vector<int>& /*browsers*/) {
  waiting_.push_back(std::move(task));
  // Handed to the executor by feed(), once the whole `tasks` message is in
  // (the relay connects a batch of members at once).
  if (!load_failed_.ok()) fail_waiting();
}

void ExecutorRunner::feed() {
  if (!executor_) return;
  // Members never wait behind ordinary tasks: all of them go in now.
  bool members = false;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->member()) {
      const std::string group = it->group, secret = it->link;
      const int rank = it->rank;
      executor_->submit(std::move(*it));
      if (relay_) relay_->set_link_secret(group, rank, secret);
      it = waiting_.erase(it);
      members = true;
    } else {
      ++it;
    }
  }
  if (members && relay_) {
    Status s = relay_->connect_pending();
    if (!s.ok()) diag::warning("{}", s.message());
  }
  while (!waiting_.empty() && executor_->can_accept()) {
    executor_->submit(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

// The pool's abort or a local member's failure: the run's members here
// stop, waiting or running, and their relay links close.
void ExecutorRunner::abort_group(const std::string& group, const std::string& why) {
  int stopped = 0;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->member() && it->group == group) {
      it = waiting_.erase(it);
      ++stopped;
    } else {
      ++it;
    }
  }
  if (executor_) stopped += executor_->abort_group(group);
  if (relay_) relay_->abort(group);
  if (stopped > 0)
    diag::info("group {}: stopped {} ({})", group, diag::count(stopped, "member"), why);
}

std::vector<int64_t> ExecutorRunner::hand_back() {
  // Running tasks finish; those not started go back (members never wait
  // here: feed() hands them over at once).
  std::vector<int64_t> ids;
  for (const sandbox::Task& t : waiting_) ids.push_back(static_cast<int64_t>(t.id));
  waiting_.clear();
  return ids;
}

// Waiting tasks count: each will give an outcome (or be handed back).
size_t ExecutorRunner::in_flight() const {
  return waiting_.size() + (executor_ ? executor_->in_flight() : 0);
}

Status ExecutorRunner::poll(int wait_ms, std::vector<struct pollfd>& extra) {
  feed();  // what the last messages brought goes to the slots before we sleep
  const size_t own = extra.size();
  if (relay_) {
    relay_->pollfds(extra);
    if (int due = relay_->wait_ms(); due >= 0) wait_ms = std::min(wait_ms, due);
  }
  if (executor_) {
    W_RETURN_IF_ERROR(executor_->poll(wait_ms, done_, extra));
  } else {
    ::poll(extra.data(), extra.size(), wait_ms);
  }
  extra.resize(own);
  if (relay_) relay_->pump();
  std::vector<sandbox::Outcome> done;
  done.swap(done_);
  for (sandbox::Outcome& o : done) {
    if (!o.group.empty()) member_steps_.erase({o.group, o.rank});
    // A member that failed here fails its run: its siblings here stop now.
    if (!o.group.empty() && !o.ok) abort_group(o.group, fmt::format("rank {} failed", o.rank));
    sink_->on_outcome(std::move(o));
  }
  feed();
  return {};
}

}  // namespace w::worker
