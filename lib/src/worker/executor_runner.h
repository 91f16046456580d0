// Native wrun's Runner (session.h): one sandbox::Executor per campaign,
// over the kernel cache, with wsig's relay for coupled campaigns' members.
//
// Tasks wait in `waiting_` until the executor can take them, so the ones
// not yet started can be handed back on drain; members never wait (they go
// to the executor at once, which starts them ahead of ordinary tasks, each
// alone on a slot). Kernel artifacts are stored in the cache by their
// sha256, written to a temporary file and renamed, so a crashed worker
// leaves no half file under the real name.
//
// The host's loop calls poll() with the connection's descriptors: it waits
// on them and on the slots together, and hands finished tasks and saved
// checkpoints to the session.
//
// REQUIRES: one thread (the host's loop).
#pragma once

#include <poll.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "relay.h"
#include "session.h"
#include "w/executor.h"

namespace w::worker {

struct ExecutorRunnerOptions {
  std::string cache;              ///< kernel artifacts: <cache>/<sha256>.so
  int jobs = 1;                   ///< slots
  size_t memory_mb = 1024;        ///< per slot
  bool insecure_sandbox = false;  ///< seccomp alone without Landlock
  /// wsig URL for members' relay; overrides the pool's (welcome). Empty and
  /// the pool's empty: members talk only within this worker.
  std::string sig;
  /// Direct links between members on different workers: "auto" (listen on
  /// the address this host reaches wsig from), a HOST, or "off".
  std::string link = "auto";
  bool link_tls = false;  ///< links run TLS (the pool does: wss://, https://)
};

class ExecutorRunner : public Runner {
 public:
  explicit ExecutorRunner(ExecutorRunnerOptions options) : o_(std::move(options)) {}
  ~ExecutorRunner() override;

  void welcome(const std::string& sig, size_t max_output) override;
  bool has_kernel(const std::string& sha) override;
  void set_campaign(const Kernel& kernel) override;
  Status load(std::string_view artifact) override;
  void submit(sandbox::Task task, const std::vector<int>& browsers) override;
  void abort_group(const std::string& group, const std::string& why) override;
  std::vector<int64_t> hand_back() override;
  size_t in_flight() const override;

  /// Waits up to `wait_ms` for the slots, the relay's links and `extra`
  /// (their revents filled in), then reports what finished to the sink and
  /// hands waiting tasks to free slots.
  Status poll(int wait_ms, std::vector<struct pollfd>& extra);

 private:
  std::string path_of(const std::string& sha) const { return o_.cache + "/" + sha + ".so"; }
  void feed();
  void fail_waiting();
  void listen_links();

  ExecutorRunnerOptions o_;
  size_t max_output_ = 0;  // 0: the slot's own limit
  std::string sig_;        // wsig's URL for the relay (ours, else the pool's)
  Kernel kernel_;          // the campaign's
  std::unique_ptr<sandbox::Executor> executor_;
  std::unique_ptr<RelayRouter> relay_;  // with executor_, when a sig is known
  Status load_failed_;                  // why this campaign's kernel cannot run here, if it cannot
  std::deque<sandbox::Task> waiting_;
  std::vector<sandbox::Outcome> done_;  // filled by Executor::poll, emptied into the sink
  std::map<std::pair<std::string, int>, int64_t> member_steps_;  // checkpoints of running members
};

}  // namespace w::worker
