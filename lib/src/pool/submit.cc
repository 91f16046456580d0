// wpool submit: the datasets on stdin into a campaign, atomically and
// resumably (w-protocol(7) "open", "datasets").
//
// The first record is read before the campaign is opened, so an empty
// input, or one bad from its first record, creates nothing. Datasets go in
// batches, at most kWindow of them unacknowledged, so memory stays bounded
// however long the input is; the pool acknowledges a batch once it is
// committed. With --once-key the pool also counts, in that same
// transaction, the datasets stored under the key, and answers `open` with
// the count: a re-run of the same command line skips exactly that many
// records ("resumed at record N") and sends the rest. A submit that loses
// its pool says how many datasets were stored for sure, and how many more
// may have been, and fails.
//
// The pool closes a connection silent for its --worker-timeout (30 s by
// default); skipping a long prefix, or reading a slow input, sends a
// batch or a status query every kKeepAlive so the submit is not taken
// for dead.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>

#include <fmt/format.h>

#include "../proto/client_messages.h"
#include "client_conn.h"
#include "w/diag.h"
#include "w/kernel_path.h"
#include "w/pool.h"

namespace w::pool {
namespace {

constexpr int kWindow = 4;  // batches sent and not yet acknowledged, at most
constexpr auto kKeepAlive = std::chrono::seconds(5);
using Clock = std::chrono::steady_clock;

Status check_options(const SubmitOptions& s) {
  if (s.group < 1 || s.group > kMaxGroup)
    return Status::Invalid(fmt::format("--group must be 1 to {}", kMaxGroup));
  if (s.group > 1 && s.replicas > 1)
    return Status::Invalid("--group and --replicas cannot be combined");
  if (s.quorum > s.replicas)
    return Status::Invalid(
        fmt::format("--quorum {} is more than --replicas {}", s.quorum, s.replicas));
  return {};
}

// Uploads a kernel file for the campaign (a submit capability suffices),
// or takes a sha256 already on the pool; returns its sha256.
Result<std::string> put_kernel(PoolClient& pc, const std::string& path, const char* platform,
                               const std::string& campaign) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (proto::is_sha256(path)) return path;
    return errno_status(fmt::format("kernel '{}'", path), errno);
  }
  auto data = read_file(path);
  if (!data.ok()) return data.status();
  const std::string name = path.substr(path.find_last_of('/') + 1);
  auto put = pc.request(proto::encode(proto::KernelPut{name, platform, campaign, *data}));
  if (!put.ok()) return put.status();
  auto stored = proto::decode_kernel_stored(*put);
  if (!stored.ok()) return stored.status();
  return stored->sha256;
}

// The campaign's settings as `open` carries them, kernels uploaded first.
Result<proto::Open> open_message(PoolClient& pc, const SubmitOptions& s) {
  proto::Open open;
  // A bare name is looked up (W_KERNEL_PATH, the installed kernels); a
  // sha256 of a kernel already on the pool is not a file.
  auto locate = [](std::string& name) -> Status {
    if (name.empty() || proto::is_sha256(name)) return Status::Ok();
    auto found = kernel::find(name);
    if (!found.ok()) return found.status();
    name = *found;
    return Status::Ok();
  };
  std::string so = s.kernel;
  W_RETURN_IF_ERROR(locate(so));
  if (!so.empty()) {
    auto sha = put_kernel(pc, so, "linux-x86_64", s.campaign);
    if (!sha.ok()) return sha.status();
    open.kernel = *sha;
  }
  // Browsers run the .wasm built beside the .so (cmake/wasm.cmake).
  std::string wasm = s.kernel_wasm;
  W_RETURN_IF_ERROR(locate(wasm));
  struct stat st;
  if (wasm.empty() && so.ends_with(".so") &&
      ::stat((so.substr(0, so.size() - 3) + ".wasm").c_str(), &st) == 0)
    wasm = so.substr(0, so.size() - 3) + ".wasm";
  if (!wasm.empty()) {
    auto sha = put_kernel(pc, wasm, "wasm32", s.campaign);
    if (!sha.ok()) return sha.status();
    open.kernel_wasm = *sha;
  }
  open.name = s.campaign;
  open.timeout_ms = static_cast<int64_t>(s.timeout * 1000);
  open.max_attempts = s.max_attempts;
  open.replicas = s.replicas;
  open.quorum = s.quorum;
  open.quorum_tolerance = s.quorum_tolerance;
  open.priority = s.priority;
  open.group = s.group;
  open.speculate = s.speculate;
  open.once_key = s.once_key;
  open.resumable = true;
  return open;
}

// Sends records in batches and counts what the pool acknowledged.
class Sender {
 public:
  Sender(PoolClient& pc, const SubmitOptions& s, int64_t campaign, int64_t resumed)
      : pc_(pc), s_(s), campaign_(campaign), resumed_(resumed) {}

  Status add(const std::string& record) {
    items_ += record;
    if (++in_batch_ >= s_.batch) return flush();
    return {};
  }
  /// Called for every record read, sent or skipped: keeps the connection
  /// from falling silent for long (the clock is read every 1024 records).
  Status tick() {
    if ((++ticks_ & 1023) != 0 || Clock::now() - last_sent_ < kKeepAlive) return {};
    if (in_batch_ > 0) return flush();
    while (unacked_ > 0) W_RETURN_IF_ERROR(wait_ack());  // answers come in order
    last_sent_ = Clock::now();
    return pc_.request(proto::encode(proto::StatusQuery{s_.campaign})).status();
  }
  /// Sends what is batched and waits for every acknowledgement.
  Status finish() {
    W_RETURN_IF_ERROR(flush());
    while (unacked_ > 0) W_RETURN_IF_ERROR(wait_ack());
    return {};
  }
  /// After a read error: what was sent is acknowledged, as far as it goes.
  void drain() {
    if (flush().ok())
      while (unacked_ > 0 && wait_ack().ok()) {
      }
  }
  /// `cause`, saying how many datasets were stored and how to go on.
  Status interrupted(const Status& cause) const {
    const int64_t stored = resumed_ + acked_;
    std::string m = fmt::format("campaign '{}': submit interrupted after {} {} stored", s_.campaign,
                                diag::count(stored, "dataset"), stored == 1 ? "was" : "were");
    if (sent_ > acked_)
      m += fmt::format(" ({} more were sent but not acknowledged; they may be stored too)",
                       sent_ - acked_);
    m += ": " + cause.message();
    if (!s_.once_key.empty())
      m += fmt::format("; run it again with --once-key {} to add the rest", s_.once_key);
    return {cause.code(), m};
  }
  long long acked() const { return acked_; }
  int64_t total() const { return total_; }

 private:
  Status flush() {
    if (in_batch_ == 0) return {};
    W_RETURN_IF_ERROR(
        pc_.send(proto::encode_datasets(campaign_, static_cast<uint32_t>(in_batch_), items_)));
    last_sent_ = Clock::now();
    sent_ += in_batch_;
    items_.clear();
    in_batch_ = 0;
    if (++unacked_ >= kWindow) return wait_ack();
    return {};
  }
  Status wait_ack() {
    auto got = pc_.answer();
    if (!got.ok()) return got.status();
    auto ack = proto::decode_ack(*got);
    if (!ack.ok()) return ack.status();
    acked_ += ack->count;
    total_ = ack->total;
    --unacked_;
    diag::progress(fmt::format("campaign '{}': {} dataset{} submitted", s_.campaign, acked_,
                               acked_ == 1 ? "" : "s"));
    return {};
  }

  PoolClient& pc_;
  const SubmitOptions& s_;
  const int64_t campaign_, resumed_;
  std::string items_;
  int in_batch_ = 0, unacked_ = 0;
  long long sent_ = 0, acked_ = 0;
  uint64_t ticks_ = 0;
  Clock::time_point last_sent_ = Clock::now();
  int64_t total_ = 0;
};

}  // namespace

Status submit(const ClientOptions& c, const SubmitOptions& s) {
  W_RETURN_IF_ERROR(check_options(s));
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  auto open = open_message(**pc, s);
  if (!open.ok()) return open.status();
  auto static_data = stream::load_static(s.static_arg);
  if (!static_data.ok()) return static_data.status();
  open->static_data = *static_data;
  // Nothing is opened (or created) before there is a first record.
  stream::RecordReader reader(s.input_fd);
  std::string record;
  auto got = reader.next(record);
  if (!got.ok()) return got.status().with_context("0 datasets submitted before the error");
  if (!*got) {
    diag::info("campaign '{}': no datasets on stdin; nothing added", s.campaign);
    return {};
  }
  auto answer = (*pc)->request(proto::encode(*open));
  if (!answer.ok()) return answer.status();
  auto opened = proto::decode_opened(*answer);
  if (!opened.ok()) return opened.status();
  if (opened->skip) {  // recorded by an older pool, which took all its input
    diag::info("campaign '{}': once-key '{}' was submitted before; nothing added", s.campaign,
               s.once_key);
    return {};
  }
  const int64_t skip = opened->resume;
  if (skip > 0)
    diag::info("campaign '{}': once-key '{}' resumed at record {}", s.campaign, s.once_key, skip);
  Sender sender(**pc, s, opened->campaign, skip);
  for (int64_t index = 0;; ++index) {  // `record` holds record `index` (0-based)
    Status st = index >= skip ? sender.add(record) : Status();
    if (st.ok()) st = sender.tick();
    if (!st.ok()) {
      diag::finish_progress();
      return sender.interrupted(st);
    }
    got = reader.next(record);
    if (!got.ok()) {
      sender.drain();
      diag::finish_progress();
      return got.status().with_context(fmt::format("{} submitted before the error",
                                                   diag::count(skip + sender.acked(), "dataset")));
    }
    if (!*got) break;
  }
  if (Status st = sender.finish(); !st.ok()) {
    diag::finish_progress();
    return sender.interrupted(st);
  }
  diag::finish_progress();
  if (sender.acked() == 0 && skip > 0)
    diag::info("campaign '{}': once-key '{}' was submitted before; nothing added", s.campaign,
               s.once_key);
  else
    diag::info("campaign '{}': {} dataset{} submitted ({} in all)", s.campaign, sender.acked(),
               sender.acked() == 1 ? "" : "s", sender.total());
  return {};
}

}  // namespace w::pool
