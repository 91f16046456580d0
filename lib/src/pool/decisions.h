// What the scheduler decides, as plain values: the pool server turns each
// into a message of w-protocol(7) (proto/) or a closed connection. The
// scheduler itself never encodes, sends or closes anything, so its rules can
// be tested by reading these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "../proto/worker_messages.h"
#include "w/net.h"

namespace w::pool {

/// One task handed to a worker, or one member of a group run. It owns its
/// bytes: the lease it came from may be gone by the time it is sent.
struct TaskGrant {
  int64_t id = 0;
  int64_t seq = 0;
  std::string input;                      ///< one msgpack map
  std::optional<std::string> checkpoint;  ///< the state a previous lease saved
  std::string group;                      ///< a member's group run id; "" = a task
  int rank = 0, size = 0;                 ///< a member's rank and K
  std::vector<int> browsers;              ///< ranks on browser workers (wasm32 only)
  /// The run's secret its native members prove to each other when they link
  /// directly (w-protocol(7) "Direct links"); "" for browser workers.
  std::string link;
  int64_t step = 0;  ///< a member resumed from `checkpoint`: the step it was saved at
};

/// `tasks`: the tasks (or members) of one campaign, leased to the worker.
struct SendTasks {
  int64_t campaign = 0;
  std::vector<TaskGrant> items;
};

/// `campaign`: binds the worker to a campaign before its first tasks.
struct BindCampaign {
  int64_t campaign = 0;
  std::string name;
  std::string kernel;       ///< sha256 of the artifact for the worker's platform
  std::string static_data;  ///< msgpack, empty = none
  int64_t timeout_ms = 0;
  int group = 1;
};

/// Closes the connection (a worker silent too long).
struct CloseConn {
  int code = 1000;
  std::string reason;
};

/// One thing to do to one connection; `abort` stops the members of a group
/// run that failed (sent only while the connection is open).
struct Decision {
  net::ConnId conn = 0;
  std::variant<SendTasks, BindCampaign, proto::Abort, CloseConn> action;
};

}  // namespace w::pool
