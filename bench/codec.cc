// bench/codec.sh: the pool protocol's two busiest frames, `tasks` (pool to
// worker) and `results` (worker to pool), packed and unpacked by wkit's own
// msgpack code (proto/, what the pool and workers run) and by msgpack-c
// (msgpack-cxx, what kernels and pool/quorum.cc used), in one run, on the
// same frames. Issue 16 step 5 decides the codec by these figures.
//
// What each side does, so the ratio compares like with like:
//   pack    own: proto::encode(Tasks) / encode_results, inputs and outputs
//           copied in as raw bytes. msgpack-c: msgpack::packer writing the
//           same maps (same keys, same order), raw bytes appended to its
//           stream the same way. Both outputs are checked to be equal.
//   unpack  own: proto::decode_tasks / decode_from_worker: checked, views
//           into the frame (inputs stay raw bytes). msgpack-c: msgpack::
//           unpack with references into the frame (no copies of str/bin),
//           then the same fields read from the object tree; inputs stay a
//           tree, which a pool would have to re-pack to store (not counted).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "proto/worker_messages.h"
#include "w/msgpack.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace proto = w::proto;
namespace mp = w::mp;

struct Sink {
  std::string& out;
  void write(const char* data, size_t n) { out.append(data, n); }
};

// A divisible-like task input and a result output, as kernels send them.
std::string task_input(int64_t i) {
  return mp::MapBuilder().integer("from", i * 1000).integer("to", i * 1000 + 1000).done();
}
std::string result_output(int64_t i) {
  std::string out;
  mp::Packer pk(out);
  pk.map(2);
  pk.str("count");
  pk.integer(i % 77);
  pk.str("values");
  pk.array(4);
  for (int k = 0; k < 4; ++k) pk.integer(i * 13 + k);
  return out;
}

// ---- msgpack-c side ----

std::string pack_tasks_c(int64_t campaign, const std::vector<std::string>& inputs) {
  std::string out;
  Sink sink{out};
  msgpack::packer<Sink> pk(sink);
  pk.pack_map(3);
  pk.pack(std::string_view("t"));
  pk.pack(std::string_view("tasks"));
  pk.pack(std::string_view("campaign"));
  pk.pack(campaign);
  pk.pack(std::string_view("items"));
  pk.pack_array(static_cast<uint32_t>(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    pk.pack_map(3);
    pk.pack(std::string_view("id"));
    pk.pack(static_cast<int64_t>(i + 1));
    pk.pack(std::string_view("seq"));
    pk.pack(static_cast<int64_t>(i));
    pk.pack(std::string_view("input"));
    sink.write(inputs[i].data(), inputs[i].size());
  }
  return out;
}

std::string pack_results_c(const std::vector<std::string>& outputs) {
  std::string out;
  Sink sink{out};
  msgpack::packer<Sink> pk(sink);
  pk.pack_map(2);
  pk.pack(std::string_view("t"));
  pk.pack(std::string_view("results"));
  pk.pack(std::string_view("items"));
  pk.pack_array(static_cast<uint32_t>(outputs.size()));
  for (size_t i = 0; i < outputs.size(); ++i) {
    pk.pack_map(3);
    pk.pack(std::string_view("task"));
    pk.pack(static_cast<int64_t>(i + 1));
    pk.pack(std::string_view("ms"));
    pk.pack(0.25);
    pk.pack(std::string_view("output"));
    sink.write(outputs[i].data(), outputs[i].size());
  }
  return out;
}

bool reference_all(msgpack::type::object_type, std::size_t, void*) {
  return true;
}

const msgpack::object* field(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return nullptr;
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object& k = map.via.map.ptr[i].key;
    if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key)
      return &map.via.map.ptr[i].val;
  }
  return nullptr;
}

// Reads what decode_tasks / decode_from_worker read; returns a checksum so
// nothing is optimised away.
int64_t unpack_c(const std::string& frame, const char* id_key) {
  msgpack::object_handle oh = msgpack::unpack(frame.data(), frame.size(), reference_all);
  const msgpack::object& root = oh.get();
  int64_t sum = 0;
  const msgpack::object* items = field(root, "items");
  if (!items || items->type != msgpack::type::ARRAY) return -1;
  for (uint32_t i = 0; i < items->via.array.size; ++i) {
    const msgpack::object& item = items->via.array.ptr[i];
    if (const auto* id = field(item, id_key)) sum += id->as<int64_t>();
    if (const auto* in = field(item, "input")) sum += in->via.map.size;
    if (const auto* out = field(item, "output")) sum += out->via.map.size;
  }
  return sum;
}

// ---- own codec, bare: the same work as the msgpack-c side, no proto/ ----

std::string pack_tasks_bare(int64_t campaign, const std::vector<std::string>& inputs) {
  std::string out;
  mp::Packer pk(out);
  pk.map(3);
  pk.str("t");
  pk.str("tasks");
  pk.str("campaign");
  pk.integer(campaign);
  pk.str("items");
  pk.array(static_cast<uint32_t>(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    pk.map(3);
    pk.str("id");
    pk.integer(static_cast<int64_t>(i + 1));
    pk.str("seq");
    pk.integer(static_cast<int64_t>(i));
    pk.str("input");
    pk.raw(inputs[i]);
  }
  return out;
}

std::string pack_results_bare(const std::vector<std::string>& outputs) {
  std::string out;
  mp::Packer pk(out);
  pk.map(2);
  pk.str("t");
  pk.str("results");
  pk.str("items");
  pk.array(static_cast<uint32_t>(outputs.size()));
  for (size_t i = 0; i < outputs.size(); ++i) {
    pk.map(3);
    pk.str("task");
    pk.integer(static_cast<int64_t>(i + 1));
    pk.str("ms");
    pk.real(0.25);
    pk.str("output");
    pk.raw(outputs[i]);
  }
  return out;
}

int64_t unpack_bare(const std::string& frame, const char* id_key) {
  auto root = mp::MapView::parse(frame);
  if (!root.ok()) return -1;
  std::vector<std::string_view> items;
  if (!mp::decode_array(root->raw("items"), items)) return -1;
  int64_t sum = 0;
  for (std::string_view raw : items) {
    auto item = mp::MapView::parse(raw);
    if (!item.ok()) return -1;
    sum += item->integer(id_key).value_or(0);
    sum += static_cast<int64_t>(item->raw("input").size() + item->raw("output").size());
  }
  return sum;
}

// ---- own side, through proto/ (checked decoders, what the pool runs) ----

std::string pack_tasks_own(int64_t campaign, const std::vector<std::string>& inputs) {
  proto::Tasks m;
  m.campaign = campaign;
  m.items.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    m.items[i].id = static_cast<int64_t>(i + 1);
    m.items[i].seq = static_cast<int64_t>(i);
    m.items[i].input = inputs[i];
  }
  return proto::encode(m);
}

std::string pack_results_own(const std::vector<std::string>& outputs) {
  std::vector<std::string> items(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    proto::ResultItem r;
    r.task = static_cast<int64_t>(i + 1);
    r.ms = 0.25;
    r.output = outputs[i];
    items[i] = proto::encode_result_item(r);
  }
  return proto::encode_results(items);
}

int64_t unpack_tasks_own(const std::string& frame) {
  auto tasks = proto::decode_tasks(frame);
  if (!tasks.ok()) return -1;
  int64_t sum = 0;
  for (const auto& t : tasks->items) sum += t.id + static_cast<int64_t>(t.input.size());
  return sum;
}

int64_t unpack_results_own(const std::string& frame) {
  auto message = proto::decode_from_worker(frame);
  if (!message.ok()) return -1;
  const auto* results = std::get_if<proto::Results>(&*message);
  if (!results) return -1;
  int64_t sum = 0;
  for (const auto& r : results->items) sum += r.task + static_cast<int64_t>(r.output.size());
  return sum;
}

// Frames per second of `fn` over about `seconds`.
template <typename Fn>
double rate(Fn&& fn, double seconds, int64_t& sink) {
  int64_t n = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < end) {
    for (int k = 0; k < 64; ++k) sink += fn();
    n += 64;
    now = Clock::now();
  }
  return static_cast<double>(n) / std::chrono::duration<double>(now - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int items = argc > 1 ? std::atoi(argv[1]) : 64;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  std::vector<std::string> inputs, outputs;
  for (int i = 0; i < items; ++i) {
    inputs.push_back(task_input(i));
    outputs.push_back(result_output(i));
  }
  const std::string tasks_own = pack_tasks_own(7, inputs);
  const std::string results_own = pack_results_own(outputs);
  // Same bytes both ways, or the comparison is not of one format.
  if (tasks_own != pack_tasks_c(7, inputs) || results_own != pack_results_c(outputs) ||
      tasks_own != pack_tasks_bare(7, inputs) || results_own != pack_results_bare(outputs)) {
    std::fprintf(stderr, "codec: the two packers wrote different frames\n");
    return 1;
  }
  if (unpack_tasks_own(tasks_own) < 0 || unpack_results_own(results_own) < 0) {
    std::fprintf(stderr, "codec: the frames do not decode\n");
    return 1;
  }
  int64_t sink = 0;
  struct Row {
    const char* what;
    size_t bytes;
    double proto, bare, c;
  };
  auto size_of = [](const std::string& frame) { return static_cast<int64_t>(frame.size()); };
  const Row rows[] = {
      {"pack tasks", tasks_own.size(),
       rate([&] { return size_of(pack_tasks_own(7, inputs)); }, seconds, sink),
       rate([&] { return size_of(pack_tasks_bare(7, inputs)); }, seconds, sink),
       rate([&] { return size_of(pack_tasks_c(7, inputs)); }, seconds, sink)},
      {"unpack tasks", tasks_own.size(),
       rate([&] { return unpack_tasks_own(tasks_own); }, seconds, sink),
       rate([&] { return unpack_bare(tasks_own, "id"); }, seconds, sink),
       rate([&] { return unpack_c(tasks_own, "id"); }, seconds, sink)},
      {"pack results", results_own.size(),
       rate([&] { return size_of(pack_results_own(outputs)); }, seconds, sink),
       rate([&] { return size_of(pack_results_bare(outputs)); }, seconds, sink),
       rate([&] { return size_of(pack_results_c(outputs)); }, seconds, sink)},
      {"unpack results", results_own.size(),
       rate([&] { return unpack_results_own(results_own); }, seconds, sink),
       rate([&] { return unpack_bare(results_own, "task"); }, seconds, sink),
       rate([&] { return unpack_c(results_own, "task"); }, seconds, sink)},
  };
  std::printf("%d items per frame; frames/s (higher is better)\n", items);
  std::printf("%-15s %6s %12s %12s %12s %9s %9s\n", "frame", "bytes", "own+proto", "own bare",
              "msgpack-c", "bare/c", "proto/c");
  for (const Row& r : rows)
    std::printf("%-15s %6zu %12.0f %12.0f %12.0f %9.2f %9.2f\n", r.what, r.bytes, r.proto, r.bare,
                r.c, r.bare / r.c, r.proto / r.c);
  std::fflush(stdout);
  std::fprintf(stderr, "(checksum %lld)\n", static_cast<long long>(sink));
  return 0;
}
