// The worker session (session.h has the conversation and its rules).
//
// State: welcomed_ (the pool accepted our hello), the campaign's kernel,
// results in hand not yet sent (done_, since results_since_), the latest
// checkpoint of each running task, and draining_/finished_. A send that
// fails is kept in failure_ and returned by the next event, since the
// runner's callbacks (on_outcome, on_checkpoint) have no Status to give it.
#include "session.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "w/diag.h"
#include "w/sha256.h"

namespace w::worker {

// The runner reports to this session from now on; one runner per session.
Session::Session(SessionConfig config, Transport& transport, Runner& runner)
    : config_(std::move(config)), transport_(transport), runner_(runner) {
  runner_.bind(this);
}

// Every frame goes out here, so the first failure is never lost.
Status Session::send(const std::string& frame) {
  Status s = transport_.send(frame);
  if (!s.ok() && failure_.ok()) failure_ = s;
  return s;
}

// The heartbeat's period: the pool's, but not below kMinWaitMs (a pool
// asking for 0 would get a message per loop turn, a tight loop here).
double Session::beat_ms() const {
  return std::max(kMinWaitMs, static_cast<double>(welcome_.heartbeat_ms));
}

Status Session::start() {
  config_.hello.v = proto::kProtocolVersion;
  return send(proto::encode(config_.hello));
}

// One checked decoder for every pool message (proto/), then one handler
// per type. An error from the pool is a refusal: the host must not retry.
Status Session::on_message(std::string_view frame) {
  W_RETURN_IF_ERROR(failure_);
  auto m = proto::decode_to_worker(frame);
  if (!m.ok()) return Status::Invalid("malformed message from the pool: " + m.status().message());
  if (auto* e = std::get_if<proto::Error>(&*m)) return Status(Code::kDenied, e->message);
  if (auto* w = std::get_if<proto::Welcome>(&*m)) return on_welcome(*w);
  // Before the welcome the pool has nothing else to say.
  if (!welcomed_) return Status::Invalid("the pool did not answer hello with welcome");
  if (auto* c = std::get_if<proto::CampaignBind>(&*m)) return on_campaign(*c);
  if (auto* a = std::get_if<proto::Artifact>(&*m)) return on_artifact(*a);
  if (auto* t = std::get_if<proto::Tasks>(&*m)) return on_tasks(*t);
  if (auto* a = std::get_if<proto::Abort>(&*m)) {
    runner_.abort_group(a->group, a->reason);
    return failure_;
  }
  if (std::holds_alternative<proto::Drain>(*m)) return drain();
  return {};  // unknown types are ignored: newer pools may send more
}

Status Session::on_welcome(const proto::Welcome& m) {
  if (welcomed_) return Status::Invalid("the pool welcomed us twice");
  if (m.v != proto::kProtocolVersion)
    return Status(Code::kDenied, fmt::format("the pool speaks protocol version {}, this worker {}",
                                             m.v, proto::kProtocolVersion));
  welcomed_ = true;
  welcome_ = m;
  // Pools before the field took 16 MiB.
  max_frame_ = m.max_frame > 0 ? static_cast<size_t>(m.max_frame) : size_t{16} << 20;
  last_beat_ = config_.now_ms();
  // A result the pool would refuse fails its task in the runner, with the reason.
  runner_.welcome(m.sig, max_frame_ > kEnvelope ? max_frame_ - kEnvelope : 0);
  return {};
}

// A kernel is cached by its sha256, so a campaign of a known kernel starts
// at once and a new one costs one fetch.
Status Session::on_campaign(const proto::CampaignBind& m) {
  // Tasks of the previous campaign are all answered before the pool switches us.
  checkpoints_.clear();
  kernel_ = {m.campaign, m.name, m.kernel, std::string(m.static_data), m.timeout_ms};
  diag::info("campaign {} '{}', kernel {}", m.campaign, m.name, kernel_.sha.substr(0, 12));
  runner_.set_campaign(kernel_);
  if (runner_.has_kernel(kernel_.sha)) {
    W_RETURN_IF_ERROR(runner_.load({}));
    return failure_;
  }
  return send(proto::encode(proto::Fetch{kernel_.sha}));
}

// The artifact must be the campaign's kernel, byte for byte: a wrong one
// (or one nobody asked for) ends the session before it is stored or run.
Status Session::on_artifact(const proto::Artifact& m) {
  if (kernel_.sha.empty() || sha256_hex(m.data) != kernel_.sha)
    return Status::Invalid(
        fmt::format("kernel artifact does not match its sha256 {}", kernel_.sha));
  W_RETURN_IF_ERROR(runner_.load(m.data));
  return failure_;
}

Status Session::on_tasks(const proto::Tasks& m) {
  // proto/ checked every item (a member's rank is below its size >= 2).
  for (const proto::TaskItem& t : m.items) {
    sandbox::Task task{static_cast<uint64_t>(t.id), std::string(t.input), {}};
    if (t.member()) {
      task.group = t.group;
      task.rank = t.rank;
      task.size = t.size;
      task.link = t.link;
      if (t.checkpoint) {
        task.restore = std::string(*t.checkpoint);
        task.step = t.step;
        diag::info("task {} rank {}: resuming from its checkpoint of step {}", task.id, task.rank,
                   task.step);
      }
    } else if (t.checkpoint) {
      task.restore = std::string(*t.checkpoint);
      diag::info("task {}: resuming from a checkpoint of {} bytes", task.id, task.restore.size());
    }
    runner_.submit(std::move(task), t.browsers);
  }
  return failure_;
}

// Idempotent: SIGTERM, the page's pause and the pool's drain may coincide.
Status Session::drain() {
  if (draining_ || finished_) return failure_;
  draining_ = true;
  if (!welcomed_) return tick();  // nothing was leased to us: just close
  // What finished goes before the bye, and the bye before the close.
  W_RETURN_IF_ERROR(send_results());
  proto::Bye bye;
  bye.returned = runner_.hand_back();
  diag::info("draining: finishing {} running tasks, handing back {}", runner_.in_flight(),
             bye.returned.size());
  W_RETURN_IF_ERROR(send(proto::encode(bye)));
  return tick();
}

// Held until results_due(); the host's next tick() (wait_ms() says when)
// sends them.
void Session::on_outcome(sandbox::Outcome outcome) {
  if (results_since_ < 0) results_since_ = config_.now_ms();
  done_.push_back(std::move(outcome));
}

// Only the latest state of a task is kept: a kernel that saves faster than
// kCheckpointInterval has the states in between dropped.
void Session::on_checkpoint(uint64_t task, std::string state) {
  Checkpoint& c = checkpoints_[task];
  c.state = std::move(state);
  c.unsent = true;
}

void Session::on_member_checkpoint(uint64_t task, int rank, int64_t step, std::string state) {
  proto::Checkpoint m{static_cast<int64_t>(task), state};
  m.rank = rank;
  m.step = step;
  member_checkpoints_.push_back(proto::encode(m));
}

Status Session::send_member_checkpoints() {
  for (const std::string& m : member_checkpoints_) W_RETURN_IF_ERROR(send(m));
  member_checkpoints_.clear();
  return {};
}

bool Session::results_due(double now) const {
  if (done_.empty()) return false;
  if (draining_ || runner_.in_flight() == 0 || done_.size() >= kResultBatch ||
      now - results_since_ >= kResultHold)
    return true;
  return std::any_of(done_.begin(), done_.end(),
                     [](const sandbox::Outcome& o) { return !o.ok || !o.group.empty(); });
}

Status Session::send_results() {
  results_since_ = -1;
  W_RETURN_IF_ERROR(send_member_checkpoints());  // a member's states before its result
  // A failed task may be tried again: the pool gets its latest state first.
  // A result makes the task's checkpoint moot.
  for (const sandbox::Outcome& out : done_) {
    auto it = checkpoints_.find(out.id);
    if (it == checkpoints_.end()) continue;
    if (!out.ok && it->second.unsent) {
      it->second.sent = -1e18;
      W_RETURN_IF_ERROR(send_checkpoints(config_.now_ms()));
    }
    checkpoints_.erase(it);
  }
  if (done_.empty()) return {};
  // As many messages as it takes to keep each under the pool's max_frame.
  std::vector<std::string> batch;
  size_t batch_bytes = 0;
  for (const sandbox::Outcome& out : done_) {
    proto::ResultItem item;
    item.task = static_cast<int64_t>(out.id);
    item.ms = std::round(out.ms * 1000) / 1000;
    if (!out.group.empty()) item.rank = out.rank, item.group = out.group;
    item.ok = out.ok;
    item.output = out.output;  // one msgpack object, or the encoder makes it an error
    item.error = out.error;
    std::string bytes = proto::encode_result_item(item);
    if (!batch.empty() && batch_bytes + bytes.size() + kEnvelope > max_frame_) {
      W_RETURN_IF_ERROR(send(proto::encode_results(batch)));
      batch.clear();
      batch_bytes = 0;
    }
    batch_bytes += bytes.size();
    batch.push_back(std::move(bytes));
  }
  done_.clear();
  return batch.empty() ? Status() : send(proto::encode_results(batch));
}

// Sends each task's latest unsent checkpoint whose interval is up.
Status Session::send_checkpoints(double now) {
  for (auto& [task, c] : checkpoints_) {
    if (!c.unsent || now - c.sent < kCheckpointInterval) continue;
    c.unsent = false;
    c.sent = now;
    diag::debug("task {}: checkpoint of {} bytes sent", task, c.state.size());
    W_RETURN_IF_ERROR(send(proto::encode(proto::Checkpoint{static_cast<int64_t>(task), c.state})));
  }
  return {};
}

// Everything time-driven happens here, so a host needs one timer (or one
// poll timeout) and no knowledge of the protocol.
Status Session::tick() {
  W_RETURN_IF_ERROR(failure_);
  if (finished_) return {};
  const double now = config_.now_ms();
  if (draining_ && runner_.in_flight() == 0) {
    W_RETURN_IF_ERROR(send_results());
    finished_ = true;
    transport_.close();
    return {};
  }
  if (results_due(now)) W_RETURN_IF_ERROR(send_results());
  W_RETURN_IF_ERROR(send_checkpoints(now));
  W_RETURN_IF_ERROR(send_member_checkpoints());
  // Every heartbeat_ms, busy or not: it carries the load the dashboard shows.
  if (welcomed_ && now - last_beat_ > beat_ms()) {
    last_beat_ = now;
    W_RETURN_IF_ERROR(send(proto::encode(config_.heartbeat())));
  }
  return {};
}

// The earliest of: the heartbeat, a held checkpoint's interval, the held
// results' kResultHold; 0 when something is due now.
int Session::wait_ms() const {
  const double now = config_.now_ms();
  if (finished_ || results_due(now) || (draining_ && runner_.in_flight() == 0) ||
      !member_checkpoints_.empty())
    return 0;
  double wait = std::max(kMinWaitMs, static_cast<double>(welcome_.heartbeat_ms) / 2);
  if (welcomed_) wait = std::min(wait, last_beat_ + beat_ms() + 1 - now);
  for (const auto& [task, c] : checkpoints_)
    if (c.unsent) wait = std::min(wait, c.sent + kCheckpointInterval + 1 - now);
  // Rounded up: a wait floored to 0 ms would spin through the last one.
  if (!done_.empty()) wait = std::min(wait, std::ceil(results_since_ + kResultHold - now));
  return static_cast<int>(std::max(0.0, std::ceil(wait)));
}

}  // namespace w::worker
