// Filter mode: the loop that joins stdin, the executor and stdout.
//
// Input is read only while the executor can take more tasks, so memory stays
// bounded by the slots' queues (plus the reorder window with --keep-order).
// One poll() waits on stdin and every slot at once.
//
// With --group K each dataset runs as K coupled members on K idle slots
// (group run "f<seq>"); the record's output is the array of their outputs
// by rank. The first member to fail fails the dataset: the others are
// stopped and their slots restarted, and the error names the rank.
#include "w/filter.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "w/diag.h"
#include "w/kernel_path.h"
#include "w/msgpack.h"

namespace w::worker {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int sig) {
  g_stop_signal = sig;
}

// With --keep-order, how far input may run ahead of the oldest unfinished task.
constexpr uint64_t kReorderWindow = 4096;

std::string worker_name(int slot) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}", host, slot);
}

class FilterRun {
 public:
  explicit FilterRun(const FilterOptions& o)
      : o_(o), writer_(o.output_fd, o.format), reader_(o.input_fd) {}

  Status run(sandbox::Executor& executor);

 private:
  Status emit(const sandbox::Outcome& out);
  /// Collects one member's outcome; emits the dataset's record when it is decided.
  Status collect(sandbox::Executor& executor, const sandbox::Outcome& out);
  Status write_record(uint64_t seq, const sandbox::Outcome& out);
  void show_progress(bool force);

  const FilterOptions& o_;
  stream::RecordWriter writer_;
  stream::RecordReader reader_;
  std::map<uint64_t, std::string> inputs_;        // seq -> dataset, until its result is written
  std::map<uint64_t, sandbox::Outcome> waiting_;  // --keep-order: finished, not yet written
  struct Members {
    std::vector<std::string> outputs;  // by rank
    int left = 0;
    double ms = 0;
    int slot = 0;  // rank 0's, for the record's "worker"
  };
  std::map<uint64_t, Members> members_;  // --group: datasets whose members still run
  std::vector<std::string> worker_names_;
  uint64_t next_seq_ = 0;   // the next dataset's number
  uint64_t next_emit_ = 0;  // --keep-order: the next result to write
  uint64_t ok_ = 0, failed_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_progress_;
  std::string record_;
};

Status FilterRun::write_record(uint64_t seq, const sandbox::Outcome& out) {
  record_.clear();
  mp::Packer pk(record_);
  auto input = inputs_.find(seq);
  const bool with_input = o_.include_input && input != inputs_.end();
  pk.map(with_input ? 6 : 5);
  pk.str("task");
  pk.uinteger(seq);
  pk.str("seq");
  pk.uinteger(seq);
  if (with_input) {
    pk.str("input");
    pk.raw(input->second);
  }
  if (out.ok) {
    pk.str("output");
    if (out.output.empty()) {
      pk.nil();
    } else {
      pk.raw(out.output);
    }
  } else {
    pk.str("error");
    pk.str(out.error);
  }
  pk.str("worker");
  pk.str(worker_names_.at(static_cast<size_t>(out.slot)));
  pk.str("ms");
  pk.real(std::round(out.ms * 1000) / 1000);
  if (input != inputs_.end()) inputs_.erase(input);
  return writer_.write(record_);
}

Status FilterRun::emit(const sandbox::Outcome& raw) {
  sandbox::Outcome out = raw;
  if (out.ok && !out.output.empty() && !mp::is_one_object(out.output)) {
    out.ok = false;
    out.error = "kernel output is not one msgpack object";
  }
  if (out.ok) {
    ++ok_;
  } else {
    ++failed_;
    diag::warning("task {}: {}", out.id, out.error);
  }
  if (!o_.keep_order) return write_record(out.id, out);
  const uint64_t id = out.id;
  waiting_.emplace(id, std::move(out));
  for (auto it = waiting_.find(next_emit_); it != waiting_.end(); it = waiting_.find(next_emit_)) {
    W_RETURN_IF_ERROR(write_record(it->first, it->second));
    waiting_.erase(it);
    ++next_emit_;
  }
  return {};
}

Status FilterRun::collect(sandbox::Executor& executor, const sandbox::Outcome& out) {
  auto it = members_.find(out.id);
  if (it == members_.end()) return {};  // its group was already stopped
  Members& g = it->second;
  std::string why;
  if (!out.ok)
    why = out.error;
  else if (!out.output.empty() && !mp::is_one_object(out.output))
    why = "kernel output is not one msgpack object";
  if (!why.empty()) {
    executor.abort_group(out.group);
    sandbox::Outcome failed = out;
    failed.ok = false;
    failed.error = fmt::format("rank {}: {}", out.rank, why);
    members_.erase(it);
    return emit(failed);
  }
  g.outputs[static_cast<size_t>(out.rank)] = out.output;
  g.ms = std::max(g.ms, out.ms);
  if (out.rank == 0) g.slot = out.slot;
  if (--g.left > 0) return {};
  sandbox::Outcome all;
  all.id = out.id;
  all.ok = true;
  all.ms = g.ms;
  all.slot = g.slot;
  mp::Packer pk(all.output);
  pk.array(static_cast<uint32_t>(g.outputs.size()));
  for (const std::string& o : g.outputs) {
    if (o.empty())
      pk.nil();
    else
      pk.raw(o);
  }
  members_.erase(it);
  return emit(all);
}

void FilterRun::show_progress(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_progress_ < std::chrono::milliseconds(200)) return;
  last_progress_ = now;
  const double secs = std::chrono::duration<double>(now - started_).count();
  diag::progress(fmt::format("{} done, {} failed, {:.0f} tasks/s", ok_, failed_,
                             secs > 0 ? static_cast<double>(ok_ + failed_) / secs : 0.0));
}

Status FilterRun::run(sandbox::Executor& executor) {
  for (int i = 0; i < o_.jobs; ++i) worker_names_.push_back(worker_name(i));
  std::vector<sandbox::Outcome> done;
  Status input_error;
  bool stop_input = false;
  while (true) {
    if (g_stop_signal) {
      stop_input = true;
      input_error = Status(Code::kInterrupted, fmt::format("interrupted by signal {}",
                                                           static_cast<int>(g_stop_signal)));
      break;  // unfinished tasks are abandoned; their slots are killed
    }
    // Feed the executor from what is already buffered.
    const bool coupled = o_.group > 1;
    auto can_take = [&] {
      return coupled ? executor.can_accept_group(o_.group) : executor.can_accept();
    };
    while (!stop_input && can_take() &&
           (!o_.keep_order || next_seq_ - next_emit_ < kReorderWindow)) {
      std::string input;
      auto got = reader_.take(input);
      if (!got.ok()) {
        input_error = got.status();
        stop_input = true;
        break;
      }
      if (!*got) break;
      if (o_.include_input) inputs_.emplace(next_seq_, input);
      if (coupled) {
        const uint64_t seq = next_seq_++;
        Members& g = members_[seq];
        g.outputs.resize(static_cast<size_t>(o_.group));
        g.left = o_.group;
        for (int rank = 0; rank < o_.group; ++rank) {
          sandbox::Task t{seq, input, {}};
          t.group = fmt::format("f{}", seq);
          t.rank = rank;
          t.size = o_.group;
          executor.submit(std::move(t));
        }
      } else {
        executor.submit({next_seq_++, std::move(input)});
      }
    }
    if (reader_.done()) stop_input = true;
    const bool want_input =
        !stop_input && can_take() && (!o_.keep_order || next_seq_ - next_emit_ < kReorderWindow);
    if (stop_input && executor.in_flight() == 0) break;

    struct pollfd in = {o_.input_fd, POLLIN, 0};
    done.clear();
    Status st =
        executor.poll(diag::stderr_is_tty() ? 200 : -1, done,
                      want_input ? std::span<struct pollfd>(&in, 1) : std::span<struct pollfd>());
    if (!st.ok()) return st;
    for (const sandbox::Outcome& out : done) {
      Status ws = coupled ? collect(executor, out) : emit(out);
      if (ws.code() == Code::kBrokenPipe) return ws;  // nobody is reading any more
      if (!ws.ok()) return ws;
      if (!out.ok && !o_.keep_going) stop_input = true;
    }
    if (want_input && (in.revents & (POLLIN | POLLHUP | POLLERR)))
      W_RETURN_IF_ERROR(reader_.fill());
    show_progress(false);
  }
  diag::finish_progress();
  W_RETURN_IF_ERROR(writer_.flush());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  diag::info("{}: {} ok, {} failed in {:.2f} s ({:.0f} tasks/s){}",
             diag::count(ok_ + failed_, "task"), ok_, failed_, secs,
             secs > 0 ? static_cast<double>(ok_ + failed_) / secs : 0.0,
             executor.restarts() ? fmt::format(", {} slot restarts", executor.restarts()) : "");
  if (!input_error.ok()) return input_error;
  if (failed_ > 0) {
    std::string more =
        o_.keep_going ? "" : " (stopped at the first failure; --keep-going runs the rest)";
    return Status(Code::kFailed,
                  fmt::format("{} of {} tasks failed{}", failed_, ok_ + failed_, more));
  }
  return {};
}

}  // namespace

Status run_filter(const FilterOptions& options) {
  // dlopen() searches the library path for a bare name; a user means the file.
  if (options.group > 1 && options.jobs < options.group)
    return Status(Code::kUsage,
                  fmt::format("--group {0} runs each dataset on {0} slots at once: give -j {0} "
                              "or more (got -j {1})",
                              options.group, options.jobs));
  auto found = kernel::find(options.kernel);  // a bare name: W_KERNEL_PATH, the installed ones
  if (!found.ok()) return found.status();
  char resolved[PATH_MAX];
  if (::realpath(found->c_str(), resolved) == nullptr || ::access(resolved, R_OK) != 0)
    return errno_status(fmt::format("kernel '{}'", options.kernel), errno);
  auto static_data = stream::load_static(options.static_arg);
  if (!static_data.ok()) return static_data.status();

  sandbox::ExecutorConfig config;
  config.slot.kernel_path = resolved;
  config.slot.static_data = std::move(*static_data);
  config.slot.memory_mb = options.memory_mb;
  config.slot.seccomp = options.seccomp;
  config.slot.insecure_sandbox = options.insecure_sandbox;
  config.slots = options.jobs;
  config.timeout = options.timeout;
  // on_checkpoint stays unset: filter mode never runs a failed task again,
  // so a kernel's checkpoints have nothing to resume and are dropped.
  sandbox::Executor executor(std::move(config));
  W_RETURN_IF_ERROR(executor.start());

  struct sigaction sa = {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  FilterRun run(options);
  return run.run(executor);
}

}  // namespace w::worker
