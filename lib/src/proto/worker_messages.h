// The messages between a pool and its workers (w-protocol(7) "Worker
// messages"), one struct each, with one checked decoder and one encoder.
//
// Decoders check presence, type and range of every field they know and
// name the first bad one in the error ("results: items[3].error: expected a
// string, got an integer"); unknown keys are ignored so newer peers may add
// fields. string_view members (datasets, outputs, artifacts) point into
// the decoded bytes, which must outlive the struct; encoders take them the
// same way and copy them once, into the message.
//
// The pool decodes what workers send (decode_from_worker) and encodes what
// it sends them; wrun and the browser worker do the opposite, with the same
// functions, so both sides build every message one way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "w/msgpack.h"
#include "w/proto.h"
#include "w/status.h"

namespace w::proto {

/// Decoded structs hold views into the bytes they came from: decoding a
/// temporary std::string would leave them dangling, so it does not compile.
template <class T>
concept TemporaryString = std::is_same_v<T, std::string>;
#define W_PROTO_NOT_FROM_TEMPORARY(decoder) \
  template <TemporaryString T>              \
  void decoder(T&&) = delete

// ---- worker -> pool ----

/// First message on /worker.
struct WorkerHello {
  int64_t v = 0;   ///< must be kProtocolVersion
  std::string id;  ///< empty: the pool names it "<name>-<connection>"
  std::string name = "worker";
  std::string platform = "linux-x86_64";  ///< "linux-x86_64", "wasm32", ...
  int slots = 1;                          ///< 1 to kMaxSlots
  int64_t memory_mb = 0;
  double score = 0;     ///< Dhrystones/s, 0 = unknown
  bool coupled = true;  ///< may run members of coupled campaigns
  std::string version;  ///< the worker's wkit version, informative
  std::string key, cap;
  /// The worker's identity: a secret it keeps (wrun: worker.key in its
  /// cache); the pool knows it by its hash. "" = none (an old worker).
  std::string worker_key;
};

/// One finished task (or member of a group run).
struct ResultItem {
  int64_t task = 0;
  bool ok = true;           ///< false: `error` says why
  std::string_view output;  ///< the kernel's msgpack result; empty = none
  std::string error;        ///< when !ok
  double ms = 0;            ///< time in the kernel
  std::optional<int> rank;  ///< set for a member of a group run
  std::string group;        ///< the member's group run id, if it says
};
struct Results {
  std::vector<ResultItem> items;
};
/// Sent at least every heartbeat_ms; `load` and `rss` tell the dashboard
/// how busy the worker's host is (absent: the worker cannot tell).
struct Heartbeat {
  double load = -1;  ///< 1-minute load average of the host per CPU; -1 = unknown
  int64_t rss = -1;  ///< resident bytes of the worker and its kernels; -1 = unknown
};
/// The state a running task saved (w_checkpoint).
struct Checkpoint {
  int64_t task = 0;
  std::string_view data;
  /// A member's: its rank, and which of its checkpoints this is (1, 2, ...
  /// counted from the start of the run, restores included): the pool keeps
  /// the latest step every member saved (w-protocol(7) "Coupled checkpoints").
  std::optional<int> rank;
  int64_t step = 0;
};
/// Asks for a kernel artifact the worker has not cached.
struct Fetch {
  std::string kernel;  ///< sha256, 64 lowercase hex digits
};
/// The worker drains: tasks it received but did not start.
struct Bye {
  std::vector<int64_t> returned;
};

using FromWorker = std::variant<WorkerHello, Results, Heartbeat, Checkpoint, Fetch, Bye>;

/// The message's type, then its decoder. An unknown `t` is an error.
Result<FromWorker> decode_from_worker(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_from_worker);

Result<WorkerHello> decode_worker_hello(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_worker_hello);
Result<Results> decode_results(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_results);
Result<Checkpoint> decode_checkpoint(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_checkpoint);
Result<Fetch> decode_fetch(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_fetch);
Result<Bye> decode_bye(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_bye);
Result<Heartbeat> decode_heartbeat(std::string_view bytes);

std::string encode(const WorkerHello& m);
/// Error texts are cleaned (valid UTF-8, at most kMaxErrorText bytes), and
/// an output that is not one msgpack object becomes an error.
std::string encode(const Results& m);
/// One item of a `results` message, and the message of items so encoded
/// (the browser worker gathers them from several places).
std::string encode_result_item(const ResultItem& item);
std::string encode_results(const std::vector<std::string>& items);
std::string encode(const Heartbeat& m);
std::string encode(const Checkpoint& m);
std::string encode(const Fetch& m);
std::string encode(const Bye& m);

// ---- pool -> worker ----

/// The pool's answer to a worker's (or a client's) hello.
struct Welcome {
  int64_t v = kProtocolVersion;
  std::string id;               ///< the worker's id on the pool (workers only)
  int64_t heartbeat_ms = 5000;  ///< send something at least this often
  std::string sig;              ///< wsig URL for coupled campaigns' relay; may be empty
  /// The pool's largest message (--max-frame): results are batched under
  /// it, and a result too large for it fails its task. 0: not said (a pool
  /// before the field took 16 MiB).
  int64_t max_frame = 0;
};
/// Binds the worker to a campaign.
struct CampaignBind {
  int64_t campaign = 0;
  std::string name;
  std::string kernel;            ///< sha256 of the artifact for this worker's platform
  std::string_view static_data;  ///< msgpack, empty = none
  int64_t timeout_ms = 60000;
  int group = 1;  ///< K >= 2: a coupled campaign
};
struct Artifact {
  std::string kernel;  ///< sha256
  std::string_view data;
};
/// One task, or one member of a group run (group non-empty).
struct TaskItem {
  int64_t id = 0;
  int64_t seq = 0;
  std::string_view input;                      ///< one msgpack map
  std::optional<std::string_view> checkpoint;  ///< resume from this state
  std::string group;                           ///< a member's group run id
  int rank = 0, size = 0;                      ///< a member's rank and K
  std::vector<int> browsers;                   ///< ranks on browser workers (wasm32 only)
  /// The run's secret for direct links between native members (hex); "" = none.
  std::string link;
  /// A member resumed from `checkpoint`: the step it was saved at (0: none).
  int64_t step = 0;
  bool member() const { return !group.empty(); }
};
struct Tasks {
  int64_t campaign = 0;
  std::vector<TaskItem> items;
};
/// Stops the members of a group run the worker holds.
struct Abort {
  std::string group, reason;
};
/// A refusal; the pool closes the connection after it.
struct Error {
  std::string code;  ///< clients only: not_found, bad_request, denied
  std::string message;
};
struct Drain {};
/// A type this worker does not know: newer pools may send more.
struct Unknown {
  std::string type;
};

using ToWorker = std::variant<Welcome, CampaignBind, Artifact, Tasks, Abort, Error, Drain, Unknown>;

Result<ToWorker> decode_to_worker(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_to_worker);

Result<Welcome> decode_welcome(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_welcome);
Result<CampaignBind> decode_campaign(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_campaign);
Result<Artifact> decode_artifact(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_artifact);
Result<Tasks> decode_tasks(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_tasks);
Result<Abort> decode_abort(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_abort);
Result<Error> decode_error(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_error);

std::string encode(const Welcome& m);
std::string encode(const CampaignBind& m);
std::string encode(const Artifact& m);
std::string encode(const Tasks& m);
std::string encode(const Abort& m);
std::string encode(const Error& m);
std::string encode(const Drain& m);

/// Builds a `tasks` message item by item, so the pool copies each input
/// once, straight into the message.
class TasksBuilder {
 public:
  explicit TasksBuilder(int64_t campaign) : campaign_(campaign) {}
  TasksBuilder(const TasksBuilder&) = delete;  // packer_ points into body_
  TasksBuilder& operator=(const TasksBuilder&) = delete;
  void add(const TaskItem& item);
  size_t size() const { return count_; }
  std::string done() const;

 private:
  int64_t campaign_;
  std::string body_;
  mp::Packer packer_{body_};
  uint32_t count_ = 0;
};

/// True if `s` is a sha256 as the protocol writes it (64 lowercase hex digits).
bool is_sha256(std::string_view s);

}  // namespace w::proto
