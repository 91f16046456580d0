// Decoders and encoders of the pool <-> client messages (see
// worker_messages.cc for the conventions; limits in w/proto.h).
#include "client_messages.h"

#include <fmt/format.h>

#include "fields.h"

namespace w::proto {
namespace {

constexpr size_t kMaxDatasets = size_t{1} << 20;  // datasets of one message
constexpr size_t kMaxKernels = size_t{1} << 20;   // kernels of one list

// An optional sha256 where "" means none.
void read_optional_sha(Fields& f, std::string_view key, std::string& out) {
  f.text(key, out, 64, Text::kToken);
  if (f.ok() && !out.empty() && !is_sha256(out))
    f.fail(key, fmt::format("'{}' is not a sha256 (64 lowercase hex digits)", out));
}

// Each element of the array at `key` must be a map.
void read_maps(Fields& f, std::string_view key, std::vector<std::string_view>& out, size_t max) {
  f.array(key, out, max, Need::kRequired);
  for (size_t i = 0; f.ok() && i < out.size(); ++i)
    if (!mp::starts_map(static_cast<uint8_t>(out[i][0])))
      f.fail(fmt::format("{}[{}]", key, i), fmt::format("expected a map, got {}", kind_of(out[i])));
}

Result<ClientHello> hello(Fields& f) {
  ClientHello h;
  f.integer("v", h.v, INT64_MIN, INT64_MAX, Need::kRequired);
  if (f.ok() && h.v != kProtocolVersion)
    f.fail("v", fmt::format("protocol version {} is not supported (this pool speaks {})", h.v,
                            kProtocolVersion));
  f.text("role", h.role, kMaxName, Text::kToken);
  f.text("key", h.key, kMaxCredential);
  f.text("cap", h.cap, kMaxCredential);
  return finish(f, std::move(h));
}

Result<KernelPut> kernel_put(Fields& f) {
  KernelPut m;
  f.text("name", m.name, kMaxName, Text::kName);
  f.text("platform", m.platform, kMaxName, Text::kToken);
  if (f.ok() && m.platform.empty()) f.fail("platform", "empty");
  f.text("campaign", m.campaign, kMaxName, Text::kName);
  f.bin("data", m.data, Need::kRequired);
  return finish(f, std::move(m));
}

Result<Open> open(Fields& f) {
  Open m;
  f.text("name", m.name, kMaxName, Text::kName, Need::kRequired);
  if (f.ok() && m.name.empty()) f.fail("name", "empty: a campaign needs a name");
  read_optional_sha(f, "kernel", m.kernel);
  read_optional_sha(f, "kernel_wasm", m.kernel_wasm);
  f.any("static", m.static_data);
  if (m.static_data == "\xc0") m.static_data = {};
  f.integer("timeout_ms", m.timeout_ms, 0, kMaxTimeoutMs);
  f.integer("max_attempts", m.max_attempts, 1, kMaxAttempts);
  f.integer("replicas", m.replicas, 1, kMaxReplicas);
  f.integer("quorum", m.quorum, 0, kMaxReplicas);
  if (f.ok() && m.quorum > m.replicas)
    f.fail("quorum", fmt::format("{} is more than replicas ({})", m.quorum, m.replicas));
  f.number("quorum_tolerance", m.quorum_tolerance, 0, 1);
  f.integer("priority", m.priority, INT32_MIN, INT32_MAX);
  f.integer("group", m.group, 1, kMaxGroup);
  if (f.ok() && m.group > 1 && m.replicas > 1)
    f.fail("group", "a coupled campaign (group) cannot have replicas");
  f.text("once_key", m.once_key, kMaxName);
  f.boolean("resumable", m.resumable);
  f.boolean("speculate", m.speculate);
  return finish(f, std::move(m));
}

Result<Datasets> datasets(Fields& f) {
  Datasets m;
  f.integer("campaign", m.campaign, 1, INT64_MAX, Need::kRequired);
  read_maps(f, "items", m.items, kMaxDatasets);
  return finish(f, std::move(m));
}

Result<StatusQuery> status_query(Fields& f) {
  StatusQuery m;
  f.text("campaign", m.campaign, kMaxName, Text::kName);
  return finish(f, std::move(m));
}

Result<ResultsQuery> results_query(Fields& f) {
  ResultsQuery m;
  f.text("campaign", m.campaign, kMaxName, Text::kName, Need::kRequired);
  f.integer("since", m.since, 0, INT64_MAX);
  f.integer("limit", m.limit, 1, kMaxResultsPage);
  f.integer("after", m.after, -1, INT64_MAX);
  return finish(f, std::move(m));
}

Result<Control> control(Fields& f) {
  Control m;
  f.text("action", m.action, 16, Text::kToken, Need::kRequired);
  if (f.ok() && m.action != "cancel" && m.action != "pause" && m.action != "resume" &&
      m.action != "delete")
    f.fail("action", fmt::format("'{}' is not one of cancel, pause, resume, delete", m.action));
  f.text("campaign", m.campaign, kMaxName, Text::kName, Need::kRequired);
  return finish(f, std::move(m));
}

Result<Unflag> unflag(Fields& f) {
  Unflag m;
  f.text("worker", m.worker, kMaxName + 32, Text::kName, Need::kRequired);
  if (f.ok() && m.worker.empty()) f.fail("worker", "empty");
  return finish(f, std::move(m));
}

Result<KernelStored> kernel_stored(Fields& f) {
  KernelStored m;
  read_sha(f, "sha256", m.sha256, Need::kRequired);
  return finish(f, std::move(m));
}

Result<Opened> opened(Fields& f) {
  Opened m;
  f.integer("campaign", m.campaign, 1, INT64_MAX, Need::kRequired);
  f.integer("next_seq", m.next_seq, 0, INT64_MAX);
  f.boolean("skip", m.skip);
  f.integer("resume", m.resume, 0, INT64_MAX);
  return finish(f, m);
}

Result<Ack> ack(Fields& f) {
  Ack m;
  f.integer("count", m.count, 0, INT64_MAX, Need::kRequired);
  f.integer("total", m.total, 0, INT64_MAX, Need::kRequired);
  return finish(f, m);
}

// A field holding one msgpack map.
void read_map(Fields& f, std::string_view key, std::string_view& out) {
  f.any(key, out, Need::kRequired);
  if (f.ok() && !mp::starts_map(static_cast<uint8_t>(out[0])))
    f.fail(key, fmt::format("expected a map, got {}", kind_of(out)));
}

Result<StatusAnswer> status_answer(Fields& f) {
  StatusAnswer m;
  read_map(f, "status", m.status);
  return finish(f, m);
}

Result<WorkersAnswer> workers_answer(Fields& f) {
  WorkersAnswer m;
  read_map(f, "workers", m.workers);
  return finish(f, m);
}

Result<ResultsPage> results_page(Fields& f) {
  ResultsPage m;
  read_maps(f, "items", m.items, size_t{kMaxResultsPage});
  f.integer("next", m.next, 0, INT64_MAX, Need::kRequired);
  f.integer("after", m.after, -1, INT64_MAX);
  f.boolean("complete", m.complete);
  return finish(f, std::move(m));
}

Result<Ok> ok_answer(Fields& f) {
  return finish(f, Ok{});
}

Result<KernelList> kernel_list(Fields& f) {
  KernelList m;
  std::vector<std::string_view> raws;
  f.array("items", raws, kMaxKernels, Need::kRequired);
  if (!f.ok()) return f.status();
  m.items.resize(raws.size());
  for (size_t i = 0; i < raws.size(); ++i) {
    Fields k(raws[i], f, "items", i);
    read_sha(k, "sha256", m.items[i].sha256, Need::kRequired);
    k.text("name", m.items[i].name, kMaxName, Text::kName);
    k.text("platform", m.items[i].platform, kMaxName, Text::kToken);
    k.integer("size", m.items[i].size, 0, INT64_MAX);
    if (!k.ok()) return k.status();
  }
  return m;
}

}  // namespace

Result<FromClient> decode_from_client(std::string_view bytes) {
  Fields f(bytes, "message");
  const std::string t = read_type(f);
  if (!f.ok()) return f.status();
  if (t == "hello") return widen<FromClient>(hello(f));
  if (t == "kernel_put") return widen<FromClient>(kernel_put(f));
  if (t == "open") return widen<FromClient>(open(f));
  if (t == "datasets") return widen<FromClient>(datasets(f));
  if (t == "status") return widen<FromClient>(status_query(f));
  if (t == "workers") return FromClient(WorkersQuery{});
  if (t == "results") return widen<FromClient>(results_query(f));
  if (t == "control") return widen<FromClient>(control(f));
  if (t == "kernels") return FromClient(KernelsQuery{});
  if (t == "unflag") return widen<FromClient>(unflag(f));
  return Status::Invalid(fmt::format("message: t: unknown message type '{}'", t));
}

Result<Unflag> decode_unflag(std::string_view b) {
  return decode_as<Unflag>(b, "unflag", unflag);
}
Result<ClientHello> decode_client_hello(std::string_view b) {
  return decode_as<ClientHello>(b, "hello", hello);
}
Result<KernelPut> decode_kernel_put(std::string_view b) {
  return decode_as<KernelPut>(b, "kernel_put", kernel_put);
}
Result<Open> decode_open(std::string_view b) {
  return decode_as<Open>(b, "open", open);
}
Result<Datasets> decode_datasets(std::string_view b) {
  return decode_as<Datasets>(b, "datasets", datasets);
}
Result<StatusQuery> decode_status_query(std::string_view b) {
  return decode_as<StatusQuery>(b, "status", status_query);
}
Result<ResultsQuery> decode_results_query(std::string_view b) {
  return decode_as<ResultsQuery>(b, "results", results_query);
}
Result<Control> decode_control(std::string_view b) {
  return decode_as<Control>(b, "control", control);
}
Result<KernelStored> decode_kernel_stored(std::string_view b) {
  return decode_as<KernelStored>(b, "kernel", kernel_stored);
}
Result<Opened> decode_opened(std::string_view b) {
  return decode_as<Opened>(b, "opened", opened);
}
Result<Ack> decode_ack(std::string_view b) {
  return decode_as<Ack>(b, "ack", ack);
}
Result<StatusAnswer> decode_status_answer(std::string_view b) {
  return decode_as<StatusAnswer>(b, "status", status_answer);
}
Result<WorkersAnswer> decode_workers_answer(std::string_view b) {
  return decode_as<WorkersAnswer>(b, "workers", workers_answer);
}
Result<ResultsPage> decode_results_page(std::string_view b) {
  return decode_as<ResultsPage>(b, "results", results_page);
}
Result<Ok> decode_ok(std::string_view b) {
  return decode_as<Ok>(b, "ok", ok_answer);
}
Result<KernelList> decode_kernel_list(std::string_view b) {
  return decode_as<KernelList>(b, "kernels", kernel_list);
}

// ---- encoders ----

std::string encode(const ClientHello& m) {
  return mp::MapBuilder()
      .str("t", "hello")
      .integer("v", m.v)
      .str("key", m.key)
      .str("cap", m.cap)
      .str("role", m.role)
      .done();
}

std::string encode(const KernelPut& m) {
  mp::MapBuilder b;
  b.str("t", "kernel_put");
  if (!m.campaign.empty()) b.str("campaign", m.campaign);
  return b.str("name", m.name).str("platform", m.platform).bin("data", m.data).done();
}

std::string encode(const Open& m) {
  return mp::MapBuilder()
      .str("t", "open")
      .str("name", m.name)
      .str("kernel", m.kernel)
      .str("kernel_wasm", m.kernel_wasm)
      .raw("static", m.static_data)
      .integer("timeout_ms", m.timeout_ms)
      .integer("max_attempts", m.max_attempts)
      .integer("replicas", m.replicas)
      .integer("quorum", m.quorum)
      .real("quorum_tolerance", m.quorum_tolerance)
      .integer("priority", m.priority)
      .integer("group", m.group)
      .str("once_key", m.once_key)
      .boolean("resumable", m.resumable)
      .boolean("speculate", m.speculate)
      .done();
}

std::string encode_datasets(int64_t campaign, uint32_t count, std::string_view packed_items) {
  std::string items;
  items.reserve(packed_items.size() + 5);
  mp::Packer(items).array(count);
  items += packed_items;
  return mp::MapBuilder()
      .str("t", "datasets")
      .integer("campaign", campaign)
      .raw("items", items)
      .done();
}

std::string encode(const Datasets& m) {
  std::string body;
  for (std::string_view item : m.items) body += item;
  return encode_datasets(m.campaign, static_cast<uint32_t>(m.items.size()), body);
}

std::string encode(const StatusQuery& m) {
  return mp::MapBuilder().str("t", "status").str("campaign", m.campaign).done();
}

std::string encode(const WorkersQuery&) {
  return mp::MapBuilder().str("t", "workers").done();
}

std::string encode(const ResultsQuery& m) {
  mp::MapBuilder b;
  b.str("t", "results").str("campaign", m.campaign).integer("since", m.since);
  if (m.after >= 0) b.integer("after", m.after);
  return b.integer("limit", m.limit).done();
}

std::string encode(const Unflag& m) {
  return mp::MapBuilder().str("t", "unflag").str("worker", m.worker).done();
}

std::string encode(const Control& m) {
  return mp::MapBuilder()
      .str("t", "control")
      .str("action", m.action)
      .str("campaign", m.campaign)
      .done();
}

std::string encode(const KernelsQuery&) {
  return mp::MapBuilder().str("t", "kernels").done();
}

std::string encode(const KernelStored& m) {
  return mp::MapBuilder().str("t", "kernel").str("sha256", m.sha256).done();
}

std::string encode(const Opened& m) {
  return mp::MapBuilder()
      .str("t", "opened")
      .integer("campaign", m.campaign)
      .integer("next_seq", m.next_seq)
      .boolean("skip", m.skip)
      .integer("resume", m.resume)
      .done();
}

std::string encode(const Ack& m) {
  return mp::MapBuilder()
      .str("t", "ack")
      .integer("count", m.count)
      .integer("total", m.total)
      .done();
}

std::string encode(const StatusAnswer& m) {
  return mp::MapBuilder().str("t", "status").raw("status", m.status).done();
}

std::string encode(const WorkersAnswer& m) {
  return mp::MapBuilder().str("t", "workers").raw("workers", m.workers).done();
}

void append(mp::Packer& items, const ResultRecord& r) {
  mp::MapBuilder rec;
  rec.integer("task", r.task).integer("seq", r.seq).raw("input", r.input);
  if (r.error.empty())
    rec.raw("output", r.output);
  else
    rec.str("error", clean_text(r.error, kMaxErrorText));
  rec.str("worker", r.worker).str("platform", r.platform).real("ms", r.ms);
  items.raw(rec.done());
}

std::string encode_results_page(uint32_t count, std::string_view packed_items, int64_t next,
                                int64_t after, bool complete) {
  std::string items;
  mp::Packer(items).array(count);
  items += packed_items;
  return mp::MapBuilder()
      .str("t", "results")
      .raw("items", items)
      .integer("next", next)
      .integer("after", after)
      .boolean("complete", complete)
      .done();
}

std::string encode(const ResultsPage& m) {
  std::string body;
  for (std::string_view item : m.items) body += item;
  return encode_results_page(static_cast<uint32_t>(m.items.size()), body, m.next, m.after,
                             m.complete);
}

std::string encode(const Ok&) {
  return mp::MapBuilder().str("t", "ok").done();
}

std::string encode(const KernelList& m) {
  std::string items;
  mp::Packer pk(items);
  pk.array(static_cast<uint32_t>(m.items.size()));
  for (const KernelInfo& k : m.items) {
    pk.map(4);
    pk.str("sha256"), pk.str(k.sha256), pk.str("name"), pk.str(k.name);
    pk.str("platform"), pk.str(k.platform), pk.str("size"), pk.integer(k.size);
  }
  return mp::MapBuilder().str("t", "kernels").raw("items", items).done();
}

}  // namespace w::proto
