// Decoders and encoders of the pool <-> worker messages. Each decoder reads
// every field it knows through Fields (fields.h), so a bad field is named
// in the error; the limits are those of w/proto.h and w-protocol(7).
#include "worker_messages.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "fields.h"

namespace w::proto {
namespace {

constexpr size_t kMaxItems = size_t{1} << 20;  // items of one results/tasks/bye message
constexpr size_t kMaxGroupId = 64;             // a group run's id
constexpr size_t kMaxLinkSecret = 64;          // a group run's direct-link secret, hex
constexpr double kMaxScore = 1e15;             // Dhrystones/s
constexpr double kMaxMs = 1e12;                // a task's time, ms (~30 years)
constexpr int64_t kMaxMemoryMb = int64_t{1} << 40;
constexpr int64_t kMaxHeartbeatMs = 86400000;  // a day
constexpr double kMaxLoad = 1e6;               // load average per CPU
constexpr int64_t kMaxRss = int64_t{1} << 50;  // bytes (1 PiB)
constexpr size_t kMaxUrl = 4096;
constexpr int64_t kMinMaxFrame = int64_t{1} << 20;  // smaller is not a pool's
constexpr int64_t kMaxMaxFrame = int64_t{1} << 32;

// The per-type decoders below read a message whose `t` was already read.

Result<WorkerHello> hello(Fields& f) {
  WorkerHello h;
  f.integer("v", h.v, INT64_MIN, INT64_MAX, Need::kRequired);
  if (f.ok() && h.v != kProtocolVersion)
    f.fail("v", fmt::format("protocol version {} is not supported (this pool speaks {})", h.v,
                            kProtocolVersion));
  f.text("id", h.id, kMaxName, Text::kName);
  f.text("name", h.name, kMaxName, Text::kName);
  f.text("platform", h.platform, kMaxName, Text::kToken);
  if (f.ok() && h.platform.empty()) f.fail("platform", "empty");
  f.integer("slots", h.slots, 1, kMaxSlots);
  f.integer("memory", h.memory_mb, 0, kMaxMemoryMb);
  f.number("score", h.score, 0, kMaxScore);
  f.boolean("coupled", h.coupled);
  f.text("version", h.version, kMaxName, Text::kName);
  f.text("key", h.key, kMaxCredential);
  f.text("cap", h.cap, kMaxCredential);
  f.text("worker_key", h.worker_key, kMaxCredential);
  if (f.ok() && !h.worker_key.empty() && h.worker_key.size() < 32)
    f.fail("worker_key", "shorter than 32 characters");
  return finish(f, std::move(h));
}

Status result_item(Fields& f, ResultItem& r) {
  f.integer("task", r.task, 1, INT64_MAX, Need::kRequired);
  f.any("output", r.output);
  if (f.has("error")) {
    r.ok = false;
    f.text("error", r.error, kMaxErrorText);
  }
  f.number("ms", r.ms, 0, kMaxMs);
  if (f.has("rank")) {
    int rank = 0;
    f.integer("rank", rank, 0, kMaxGroup - 1);
    r.rank = rank;
  }
  f.text("group", r.group, kMaxGroupId, Text::kToken);
  return f.status();
}

Result<Results> results(Fields& f) {
  Results m;
  std::vector<std::string_view> raws;
  f.array("items", raws, kMaxItems, Need::kRequired);
  if (!f.ok()) return f.status();
  m.items.resize(raws.size());
  for (size_t i = 0; i < raws.size(); ++i) {
    Fields item(raws[i], f, "items", i);
    W_RETURN_IF_ERROR(result_item(item, m.items[i]));
  }
  return m;
}

Result<Checkpoint> checkpoint(Fields& f) {
  Checkpoint c;
  f.integer("task", c.task, 1, INT64_MAX, Need::kRequired);
  f.bin("data", c.data, Need::kRequired);
  if (f.has("rank") || f.has("step")) {  // a member's: both
    int rank = 0;
    int64_t step = 0;
    f.integer("rank", rank, 0, kMaxGroup - 1, Need::kRequired);
    f.integer("step", step, 1, INT64_MAX, Need::kRequired);
    c.rank = rank;
    c.step = step;
  }
  return finish(f, c);
}

Result<Fetch> fetch(Fields& f) {
  Fetch m;
  read_sha(f, "kernel", m.kernel, Need::kRequired);
  return finish(f, std::move(m));
}

Result<Heartbeat> heartbeat(Fields& f) {
  Heartbeat m;
  f.number("load", m.load, 0, kMaxLoad);
  f.integer("rss", m.rss, 0, kMaxRss);
  return finish(f, m);
}

Result<Bye> bye(Fields& f) {
  Bye m;
  f.integers("returned", m.returned, kMaxItems, 1, INT64_MAX);
  return finish(f, std::move(m));
}

Result<Welcome> welcome(Fields& f) {
  Welcome m;
  f.integer("v", m.v, 0, INT32_MAX, Need::kRequired);
  f.text("id", m.id, kMaxName + 32, Text::kName);  // the pool may add "-<n>" or "#<n>"
  f.integer("heartbeat_ms", m.heartbeat_ms, 0, kMaxHeartbeatMs);
  f.text("sig", m.sig, kMaxUrl);
  f.integer("max_frame", m.max_frame, kMinMaxFrame, kMaxMaxFrame);
  return finish(f, std::move(m));
}

Result<CampaignBind> campaign(Fields& f) {
  CampaignBind m;
  f.integer("campaign", m.campaign, 1, INT64_MAX, Need::kRequired);
  f.text("name", m.name, kMaxName);
  read_sha(f, "kernel", m.kernel, Need::kRequired);
  f.any("static", m.static_data);
  if (m.static_data == "\xc0") m.static_data = {};
  f.integer("timeout_ms", m.timeout_ms, 0, kMaxTimeoutMs);
  f.integer("group", m.group, 1, kMaxGroup);
  return finish(f, std::move(m));
}

Result<Artifact> artifact(Fields& f) {
  Artifact m;
  read_sha(f, "kernel", m.kernel, Need::kRequired);
  f.bin("data", m.data, Need::kRequired);
  return finish(f, std::move(m));
}

Status task_item(Fields& f, TaskItem& t) {
  f.integer("id", t.id, 1, INT64_MAX, Need::kRequired);
  f.integer("seq", t.seq, 0, INT64_MAX);
  f.any("input", t.input, Need::kRequired);
  if (f.has("checkpoint")) {
    std::string_view data;
    f.bin("checkpoint", data);
    t.checkpoint = data;
  }
  if (!f.has("group")) return f.status();
  f.text("group", t.group, kMaxGroupId, Text::kToken);
  if (f.ok() && t.group.empty()) f.fail("group", "empty");
  f.integer("size", t.size, 2, kMaxGroup, Need::kRequired);
  f.integer("rank", t.rank, 0, kMaxGroup - 1, Need::kRequired);
  if (f.ok() && t.rank >= t.size)
    f.fail("rank", fmt::format("{} is not below size ({})", t.rank, t.size));
  std::vector<int64_t> browsers;
  f.integers("browsers", browsers, kMaxGroup, 0, t.size - 1);
  t.browsers.assign(browsers.begin(), browsers.end());
  f.text("link", t.link, kMaxLinkSecret, Text::kToken);
  f.integer("step", t.step, 0, INT64_MAX);
  return f.status();
}

Result<Tasks> tasks(Fields& f) {
  Tasks m;
  f.integer("campaign", m.campaign, 1, INT64_MAX, Need::kRequired);
  std::vector<std::string_view> raws;
  f.array("items", raws, kMaxItems, Need::kRequired);
  if (!f.ok()) return f.status();
  m.items.resize(raws.size());
  for (size_t i = 0; i < raws.size(); ++i) {
    Fields item(raws[i], f, "items", i);
    W_RETURN_IF_ERROR(task_item(item, m.items[i]));
  }
  return m;
}

Result<Abort> abort_message(Fields& f) {
  Abort m;
  f.text("group", m.group, kMaxGroupId, Text::kToken, Need::kRequired);
  m.reason = "aborted by the pool";
  f.text("reason", m.reason, kMaxErrorText);
  return finish(f, std::move(m));
}

Result<Error> error(Fields& f) {
  Error m;
  m.message = "refused by the pool";
  f.text("code", m.code, 32, Text::kToken);
  f.text("message", m.message, kMaxErrorText);
  return finish(f, std::move(m));
}

}  // namespace

Result<FromWorker> decode_from_worker(std::string_view bytes) {
  Fields f(bytes, "message");
  const std::string t = read_type(f);
  if (!f.ok()) return f.status();
  if (t == "hello") return widen<FromWorker>(hello(f));
  if (t == "results") return widen<FromWorker>(results(f));
  if (t == "heartbeat") return widen<FromWorker>(heartbeat(f));
  if (t == "checkpoint") return widen<FromWorker>(checkpoint(f));
  if (t == "fetch") return widen<FromWorker>(fetch(f));
  if (t == "bye") return widen<FromWorker>(bye(f));
  return Status::Invalid(fmt::format("message: t: unknown message type '{}'", t));
}

Result<WorkerHello> decode_worker_hello(std::string_view b) {
  return decode_as<WorkerHello>(b, "hello", hello);
}
Result<Results> decode_results(std::string_view b) {
  return decode_as<Results>(b, "results", results);
}
Result<Checkpoint> decode_checkpoint(std::string_view b) {
  return decode_as<Checkpoint>(b, "checkpoint", checkpoint);
}
Result<Fetch> decode_fetch(std::string_view b) {
  return decode_as<Fetch>(b, "fetch", fetch);
}
Result<Heartbeat> decode_heartbeat(std::string_view b) {
  return decode_as<Heartbeat>(b, "heartbeat", heartbeat);
}
Result<Bye> decode_bye(std::string_view b) {
  return decode_as<Bye>(b, "bye", bye);
}

Result<ToWorker> decode_to_worker(std::string_view bytes) {
  Fields f(bytes, "message");
  const std::string t = read_type(f);
  if (!f.ok()) return f.status();
  if (t == "welcome") return widen<ToWorker>(welcome(f));
  if (t == "campaign") return widen<ToWorker>(campaign(f));
  if (t == "artifact") return widen<ToWorker>(artifact(f));
  if (t == "tasks") return widen<ToWorker>(tasks(f));
  if (t == "abort") return widen<ToWorker>(abort_message(f));
  if (t == "error") return widen<ToWorker>(error(f));
  if (t == "drain") return ToWorker(Drain{});
  return ToWorker(Unknown{t});
}

Result<Welcome> decode_welcome(std::string_view b) {
  return decode_as<Welcome>(b, "welcome", welcome);
}
Result<CampaignBind> decode_campaign(std::string_view b) {
  return decode_as<CampaignBind>(b, "campaign", campaign);
}
Result<Artifact> decode_artifact(std::string_view b) {
  return decode_as<Artifact>(b, "artifact", artifact);
}
Result<Tasks> decode_tasks(std::string_view b) {
  return decode_as<Tasks>(b, "tasks", tasks);
}
Result<Abort> decode_abort(std::string_view b) {
  return decode_as<Abort>(b, "abort", abort_message);
}
Result<Error> decode_error(std::string_view b) {
  return decode_as<Error>(b, "error", error);
}

// ---- encoders ----

std::string encode(const WorkerHello& m) {
  // A benchmark that went wrong (inf, NaN) must not get the worker refused.
  const double score = std::isfinite(m.score) ? std::clamp(m.score, 0.0, kMaxScore) : 0.0;
  return mp::MapBuilder()
      .str("t", "hello")
      .integer("v", m.v)
      .str("id", m.id)
      .str("name", m.name)
      .str("platform", m.platform)
      .integer("slots", m.slots)
      .integer("memory", std::clamp<int64_t>(m.memory_mb, 0, kMaxMemoryMb))
      .real("score", score)
      .boolean("coupled", m.coupled)
      .str("version", m.version)
      .str("key", m.key)
      .str("cap", m.cap)
      .str("worker_key", m.worker_key)
      .done();
}

std::string encode_result_item(const ResultItem& r) {
  mp::MapBuilder item;
  item.integer("task", r.task).real("ms", r.ms);
  if (r.rank) item.integer("rank", *r.rank);
  if (!r.group.empty()) item.str("group", r.group);
  if (r.ok && (r.output.empty() || mp::is_one_object(r.output)))
    item.raw("output", r.output);
  else
    item.str("error",
             r.ok ? "kernel output is not one msgpack object" : clean_text(r.error, kMaxErrorText));
  return item.done();
}

std::string encode_results(const std::vector<std::string>& encoded) {
  std::string items;
  mp::Packer pk(items);
  pk.array(static_cast<uint32_t>(encoded.size()));
  for (const std::string& item : encoded) pk.raw(item);
  return mp::MapBuilder().str("t", "results").raw("items", items).done();
}

std::string encode(const Results& m) {
  std::string items;
  mp::Packer pk(items);
  pk.array(static_cast<uint32_t>(m.items.size()));
  for (const ResultItem& r : m.items) pk.raw(encode_result_item(r));
  return mp::MapBuilder().str("t", "results").raw("items", items).done();
}

std::string encode(const Heartbeat& m) {
  mp::MapBuilder b;
  b.str("t", "heartbeat");
  if (m.load >= 0) b.real("load", m.load);
  if (m.rss >= 0) b.integer("rss", m.rss);
  return b.done();
}

std::string encode(const Checkpoint& m) {
  mp::MapBuilder b;
  b.str("t", "checkpoint").integer("task", m.task).bin("data", m.data);
  if (m.rank) b.integer("rank", *m.rank).integer("step", m.step);
  return b.done();
}

std::string encode(const Fetch& m) {
  return mp::MapBuilder().str("t", "fetch").str("kernel", m.kernel).done();
}

std::string encode(const Bye& m) {
  std::string ids;
  mp::Packer pk(ids);
  pk.array(static_cast<uint32_t>(m.returned.size()));
  for (int64_t id : m.returned) pk.integer(id);
  return mp::MapBuilder().str("t", "bye").raw("returned", ids).done();
}

std::string encode(const Welcome& m) {
  mp::MapBuilder b;
  b.str("t", "welcome").integer("v", m.v);
  // A client's welcome is only the version; a worker's names it.
  if (!m.id.empty()) b.str("id", m.id).integer("heartbeat_ms", m.heartbeat_ms);
  if (!m.sig.empty()) b.str("sig", m.sig);
  if (m.max_frame > 0) b.integer("max_frame", m.max_frame);
  return b.done();
}

std::string encode(const CampaignBind& m) {
  mp::MapBuilder b;
  b.str("t", "campaign")
      .integer("campaign", m.campaign)
      .str("name", m.name)
      .str("kernel", m.kernel)
      .raw("static", m.static_data)
      .integer("timeout_ms", m.timeout_ms);
  if (m.group > 1) b.integer("group", m.group);
  return b.done();
}

std::string encode(const Artifact& m) {
  return mp::MapBuilder().str("t", "artifact").str("kernel", m.kernel).bin("data", m.data).done();
}

void TasksBuilder::add(const TaskItem& t) {
  mp::MapBuilder item;
  item.integer("id", t.id).integer("seq", t.seq).raw("input", t.input);
  if (t.checkpoint) item.bin("checkpoint", *t.checkpoint);
  if (t.member()) {
    item.str("group", t.group).integer("rank", t.rank).integer("size", t.size);
    if (!t.browsers.empty()) {
      std::string ranks;
      mp::Packer pk(ranks);
      pk.array(static_cast<uint32_t>(t.browsers.size()));
      for (int r : t.browsers) pk.integer(r);
      item.raw("browsers", ranks);
    }
    if (!t.link.empty()) item.str("link", t.link);
    if (t.step > 0) item.integer("step", t.step);
  }
  packer_.raw(item.done());
  ++count_;
}

std::string TasksBuilder::done() const {
  std::string items;
  mp::Packer(items).array(count_);
  items += body_;
  return mp::MapBuilder()
      .str("t", "tasks")
      .integer("campaign", campaign_)
      .raw("items", items)
      .done();
}

std::string encode(const Tasks& m) {
  TasksBuilder b(m.campaign);
  for (const TaskItem& t : m.items) b.add(t);
  return b.done();
}

std::string encode(const Abort& m) {
  return mp::MapBuilder()
      .str("t", "abort")
      .str("group", m.group)
      .str("reason", clean_text(m.reason, kMaxErrorText))
      .done();
}

std::string encode(const Error& m) {
  mp::MapBuilder b;
  b.str("t", "error");
  if (!m.code.empty()) b.str("code", m.code);
  b.str("message", clean_text(m.message, kMaxErrorText));
  return b.done();
}

std::string encode(const Drain&) {
  return mp::MapBuilder().str("t", "drain").done();
}

}  // namespace w::proto
