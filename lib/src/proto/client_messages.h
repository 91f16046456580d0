// The messages between a pool and its clients (wpool submit, status, ...;
// w-protocol(7) "Client messages"): one struct each, one checked decoder,
// one encoder. Conventions as in worker_messages.h: errors name the field,
// unknown keys are ignored, string_views point into the decoded bytes.
//
// Each request is answered by one message, in order: the answer named
// beside each request below, or an Error (worker_messages.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "worker_messages.h"

namespace w::proto {

// ---- client -> pool ----

/// First message on /client. Answer: Welcome (version only).
struct ClientHello {
  int64_t v = 0;  ///< must be kProtocolVersion
  std::string role = "client";
  std::string key, cap;
};
/// Uploads a kernel artifact. Answer: KernelStored.
struct KernelPut {
  std::string name = "kernel";
  std::string platform = "linux-x86_64";
  std::string campaign;  ///< the campaign it is uploaded for (a submit right suffices); may be ""
  std::string_view data;
};
/// Creates a campaign, or opens an existing one to append. Answer: Opened.
struct Open {
  std::string name;
  std::string kernel, kernel_wasm;  ///< sha256s; "" = none
  std::string_view static_data;     ///< msgpack, empty = none
  int64_t timeout_ms = 60000;
  int max_attempts = 3;
  int replicas = 1;
  int quorum = 0;               ///< 0: a majority of replicas
  double quorum_tolerance = 0;  ///< 0 to 1; see CampaignSpec::quorum_tolerance
  int priority = 0;
  int group = 1;
  std::string once_key;
  /// The client skips `opened.resume` records (false: a client older than
  /// resumable submits, which is told to `skip` once its key has datasets).
  bool resumable = false;
  /// Speculative copies of its last running tasks (false: --no-speculate);
  /// absent (an older client) is true, the default.
  bool speculate = true;
};
/// Appends datasets (each one msgpack map). Answer: Ack.
struct Datasets {
  int64_t campaign = 0;
  std::vector<std::string_view> items;
};
/// Answer: StatusAnswer.
struct StatusQuery {
  std::string campaign;  ///< "" = every campaign the connection may see
};
/// Answer: WorkersAnswer.
struct WorkersQuery {};
/// A page of results. Answer: ResultsPage.
struct ResultsQuery {
  std::string campaign;
  int64_t since = 0;
  int limit = 5000;
  int64_t after = -1;  ///< the previous page's `after`; -1 on the first page
};
/// cancel, pause, resume or delete a campaign. Answer: Ok.
struct Control {
  std::string action, campaign;
};
/// Answer: KernelList.
struct KernelsQuery {};
/// Lifts a worker's flag (the admin right). Answer: Ok.
struct Unflag {
  std::string worker;  ///< its id, as `workers` lists it
};

using FromClient = std::variant<ClientHello, KernelPut, Open, Datasets, StatusQuery, WorkersQuery,
                                ResultsQuery, Control, KernelsQuery, Unflag>;

/// The message's type, then its decoder. An unknown `t` is an error.
Result<FromClient> decode_from_client(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_from_client);

Result<ClientHello> decode_client_hello(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_client_hello);
Result<KernelPut> decode_kernel_put(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_kernel_put);
Result<Open> decode_open(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_open);
Result<Datasets> decode_datasets(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_datasets);
Result<StatusQuery> decode_status_query(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_status_query);
Result<ResultsQuery> decode_results_query(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_results_query);
Result<Control> decode_control(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_control);
Result<Unflag> decode_unflag(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_unflag);

std::string encode(const ClientHello& m);
std::string encode(const KernelPut& m);
std::string encode(const Open& m);
std::string encode(const Datasets& m);
/// A `datasets` message of `count` maps already packed one after another.
std::string encode_datasets(int64_t campaign, uint32_t count, std::string_view packed_items);
std::string encode(const StatusQuery& m);
std::string encode(const WorkersQuery& m);
std::string encode(const ResultsQuery& m);
std::string encode(const Control& m);
std::string encode(const KernelsQuery& m);
std::string encode(const Unflag& m);

// ---- pool -> client ----

/// t = "kernel": the stored artifact's sha256.
struct KernelStored {
  std::string sha256;
};
struct Opened {
  int64_t campaign = 0;
  int64_t next_seq = 0;
  bool skip = false;  ///< the once_key was recorded by an older pool: send nothing
  /// Datasets already stored under the once_key: the client skips that many
  /// records of its input and sends the rest (a resumed submit).
  int64_t resume = 0;
};
/// Datasets stored (committed).
struct Ack {
  int64_t count = 0, total = 0;
};
/// t = "status": the object of GET /api/status, as a msgpack map.
struct StatusAnswer {
  std::string_view status;
};
/// t = "workers": {items: [...]} as a msgpack map.
struct WorkersAnswer {
  std::string_view workers;
};
/// t = "results": one page of result records (msgpack maps).
struct ResultsPage {
  std::vector<std::string_view> items;
  int64_t next = 0;    ///< the `since` of the following page
  int64_t after = -1;  ///< send back as the next query's `after`
  bool complete = false;
};
struct Ok {};
struct KernelInfo {
  std::string sha256, name, platform;
  int64_t size = 0;
};
/// t = "kernels".
struct KernelList {
  std::vector<KernelInfo> items;
};

Result<KernelStored> decode_kernel_stored(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_kernel_stored);
Result<Opened> decode_opened(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_opened);
Result<Ack> decode_ack(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_ack);
Result<StatusAnswer> decode_status_answer(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_status_answer);
Result<WorkersAnswer> decode_workers_answer(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_workers_answer);
Result<ResultsPage> decode_results_page(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_results_page);
Result<Ok> decode_ok(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_ok);
Result<KernelList> decode_kernel_list(std::string_view bytes);
W_PROTO_NOT_FROM_TEMPORARY(decode_kernel_list);

std::string encode(const KernelStored& m);
std::string encode(const Opened& m);
std::string encode(const Ack& m);
std::string encode(const StatusAnswer& m);
std::string encode(const WorkersAnswer& m);
std::string encode(const ResultsPage& m);
std::string encode(const Ok& m);
std::string encode(const KernelList& m);

/// One record of a results page, as `wpool results` prints it.
struct ResultRecord {
  int64_t task = 0, seq = 0;
  std::string_view input;   ///< the dataset (msgpack)
  std::string_view output;  ///< msgpack, when error is empty; empty = nil
  std::string_view error;   ///< non-empty: the task failed
  std::string_view worker, platform;
  double ms = 0;
};
/// Appends one record (a msgpack map) to a page's items.
void append(mp::Packer& items, const ResultRecord& r);

/// A `results` page of `count` records already appended to `packed_items`.
std::string encode_results_page(uint32_t count, std::string_view packed_items, int64_t next,
                                int64_t after, bool complete);

/// "error" answers carry a code a client turns into a Status code.
inline constexpr std::string_view kNotFound = "not_found", kBadRequest = "bad_request",
                                  kDenied = "denied";

}  // namespace w::proto
