// One worker's conversation with a pool over one connection (w-protocol(7)
// "Worker messages"), the same for native wrun and the browser's wrun.wasm.
//
//   start()            -> hello
//   welcome            -> Runner::welcome (sig, largest output)
//   campaign           -> Runner::set_campaign, then Runner::load if it has
//                         the kernel, else fetch
//   artifact           -> sha256 checked, Runner::load with its bytes
//   tasks              -> Runner::submit, one sandbox::Task per item
//   abort              -> Runner::abort_group
//   drain (or drain()) -> results held so far, then bye with what the runner
//                         hands back; finished() once nothing runs, then close
//   error              -> kDenied (the pool refused us; retrying will not help)
//
// The session is event-driven and owns no thread, socket, timer or clock:
// its host calls on_message() for each frame, the runner reports outcomes
// and checkpoints through RunnerSink, and the host calls tick() no later
// than wait_ms() says (results held to share a message, checkpoints held to
// their interval, heartbeats). Native wrun drives it from a poll loop
// (pool_worker.cc), the browser from WebSocket events and timers, the unit
// tests from an in-memory transport (test/unit/worker/session_test.cc).
//
// Every pool message is decoded by proto/ (one checked decoder per type);
// every message sent is built by proto/. A message that does not decode
// ends the session (its Status says why); unknown types are ignored, as
// newer pools may send more.
//
// Results: a busy worker's results wait up to kResultHold for company (one
// message, and one pool turn, per few results); they go at once when nothing
// else runs, when one is a failure or a member's, and when there are many.
// Each message stays under the pool's max_frame.
//
// Checkpoints a running task saves go at most once per task per
// kCheckpointInterval, latest state only; a result makes its task's pending
// checkpoint moot, except a failure's (the pool gets it first, so a retry
// resumes from it).
//
// REQUIRES: all calls on one thread (the host's loop or the Web Worker's).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../proto/worker_messages.h"
#include "w/executor.h"
#include "w/status.h"

namespace w::worker {

/// Carries the session's frames to the pool. What a new transport must
/// provide: send one binary message in order, and close after what was sent.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Queues one binary message; an error means the connection is gone.
  virtual Status send(std::string_view frame) = 0;
  /// Closes the connection after the messages already sent.
  virtual void close() = 0;
};

/// Where a runner's results go (the Session): calls may come from inside
/// the runner's own methods (a kernel that cannot load fails its tasks).
class RunnerSink {
 public:
  virtual ~RunnerSink() = default;
  /// A task (or member) ended; ok or not, the pool gets it as a result.
  virtual void on_outcome(sandbox::Outcome outcome) = 0;
  /// A running task saved its state (w_checkpoint).
  virtual void on_checkpoint(uint64_t task, std::string state) = 0;
  /// A running member saved its state: its `step`th checkpoint of the run.
  virtual void on_member_checkpoint(uint64_t task, int rank, int64_t step, std::string state) = 0;
};

/// The campaign a worker is bound to, as the session hands it to the runner.
struct Kernel {
  int64_t campaign = 0;
  std::string name;
  std::string sha;          ///< sha256 of the kernel artifact (proto/ checked)
  std::string static_data;  ///< msgpack, empty = none
  int64_t timeout_ms = 60000;
};

/// Runs the tasks. Native: sandboxed slot processes (ExecutorRunner);
/// browser: the kernel's inner Web Worker. One per session.
class Runner {
 public:
  virtual ~Runner() = default;
  /// Where outcomes and checkpoints go; set once by the Session.
  void bind(RunnerSink* sink) { sink_ = sink; }
  /// The pool's welcome: wsig's URL for members' relay (may be empty) and
  /// the largest kernel output a result may carry (a larger one fails).
  virtual void welcome(const std::string& sig, size_t max_output) = 0;
  /// Whether the artifact `sha` is at hand (no fetch needed).
  virtual bool has_kernel(const std::string& sha) = 0;
  /// Binds to a campaign: the previous campaign's kernel is dropped (its
  /// tasks were all answered before the pool sent this) and tasks wait
  /// until load().
  virtual void set_campaign(const Kernel& kernel) = 0;
  /// Loads the campaign's kernel. `artifact`: its bytes as fetched (their
  /// sha256 checked), empty when has_kernel(). A kernel that cannot load
  /// here is not an error of the session: the runner fails every task of
  /// the campaign with the reason. An error return (the artifact cannot be
  /// stored) ends the session.
  virtual Status load(std::string_view artifact) = 0;
  /// A task (or member) to run; its Outcome comes through the sink.
  /// `browsers`: a member's fellow ranks on browser workers, which a
  /// browser's member may reach by DataChannel (empty elsewhere).
  virtual void submit(sandbox::Task task, const std::vector<int>& browsers) = 0;
  /// Stops the members of `group` here, without results.
  virtual void abort_group(const std::string& group, const std::string& why) = 0;
  /// Drain: the ids of the tasks received that will give no outcome (a
  /// bye's `returned`). A runner may finish the running ones, or stop them.
  virtual std::vector<int64_t> hand_back() = 0;
  /// Tasks received whose outcome has not come yet.
  virtual size_t in_flight() const = 0;

 protected:
  RunnerSink* sink_ = nullptr;
};

struct SessionConfig {
  /// The hello to send (v is set by the session).
  proto::WorkerHello hello;
  /// Milliseconds of a monotonic clock (steady_clock, emscripten_get_now).
  std::function<double()> now_ms;
  /// A heartbeat's content: how busy this host is.
  std::function<proto::Heartbeat()> heartbeat;
};

class Session : private RunnerSink {
 public:
  static constexpr double kResultHold = 20;           ///< ms, see the top of the file
  static constexpr double kCheckpointInterval = 100;  ///< ms
  static constexpr size_t kResultBatch = 4096;        ///< results that go at once
  static constexpr double kMinWaitMs = 50;            ///< the longest sleep is at least this
  /// Room in a message for everything but the results' outputs: the
  /// envelope and each item's task, ms, group and error (errors < 4 KiB).
  static constexpr size_t kEnvelope = size_t{64} * 1024;

  /// `transport` and `runner` outlive the session.
  Session(SessionConfig config, Transport& transport, Runner& runner);

  /// Sends the hello.
  Status start();
  /// One frame from the pool. An error ends the session: kDenied when the
  /// pool refused us (error, protocol version), else what was wrong.
  Status on_message(std::string_view frame);
  /// Sends what is due (held results, checkpoints, the heartbeat) and,
  /// draining with nothing left to run, the last results and the close.
  Status tick();
  /// How long the host may wait before the next tick() (ms; >= 0).
  int wait_ms() const;
  /// Starts a drain (SIGTERM, the page's pause, the pool's drain).
  Status drain();

  bool welcomed() const { return welcomed_; }
  bool draining() const { return draining_; }
  /// Drained: the last results went and the transport was closed.
  bool finished() const { return finished_; }
  /// The welcome's values (valid once welcomed()).
  const proto::Welcome& welcome() const { return welcome_; }
  size_t max_frame() const { return max_frame_; }
  const Kernel& kernel() const { return kernel_; }
  /// A failure of the runner's sink calls (a send that failed), kept for
  /// the next tick() or on_message() to return.
  const Status& failure() const { return failure_; }

 private:
  struct Checkpoint {
    std::string state;
    bool unsent = false;
    double sent = -1e18;  // when one was last sent
  };
  void on_outcome(sandbox::Outcome outcome) override;
  void on_checkpoint(uint64_t task, std::string state) override;
  void on_member_checkpoint(uint64_t task, int rank, int64_t step, std::string state) override;
  Status send_member_checkpoints();
  Status send(const std::string& frame);
  Status on_welcome(const proto::Welcome& m);
  Status on_campaign(const proto::CampaignBind& m);
  Status on_artifact(const proto::Artifact& m);
  Status on_tasks(const proto::Tasks& m);
  double beat_ms() const;
  bool results_due(double now) const;
  Status send_results();
  Status send_checkpoints(double now);

  SessionConfig config_;
  Transport& transport_;
  Runner& runner_;
  bool welcomed_ = false, draining_ = false, finished_ = false;
  proto::Welcome welcome_;
  size_t max_frame_ = size_t{16} << 20;  // the pool's largest message
  Kernel kernel_;
  std::vector<sandbox::Outcome> done_;  // results not sent yet
  double results_since_ = -1;           // when the oldest of done_ came (-1: none)
  std::unordered_map<uint64_t, Checkpoint> checkpoints_;  // by task id, while it runs
  // Members' checkpoints go every one, at once: the pool needs the same step
  // of every member, which dropping states in between would not leave it.
  std::vector<std::string> member_checkpoints_;  // encoded, not sent yet
  double last_beat_ = 0;                         // a heartbeat goes at least this often
  Status failure_;
};

}  // namespace w::worker
