// libFuzzer target for the decoders every program runs on outside bytes:
// msgpack framing (object_size), the item reader (read_item, which the
// quorum walks worker output with), msgpack -> JSON, JSON -> msgpack,
// MapView, and the slot frame reader.
//
// Built with clang -fsanitize=fuzzer,address -DW_LIBFUZZER it is a fuzzer;
// built plainly it replays test/fuzz/corpus/stream and seeded edits of it
// (fuzz_main.h), so ctest runs the same checks:
// - nothing crashes, reads out of bounds or loops;
// - object_size never claims more bytes than it was given;
// - msgpack becomes at most 16 bytes of JSON per byte (no key bombs);
// - msgpack that converts to JSON converts back to msgpack that converts to
//   the same JSON (a fixed point after one round);
// - a frame reader never returns a frame larger than its limit;
// - JSON -> msgpack as the parser reads equals the DOM's, bytes and errors.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../../lib/src/sandbox/frame.h"
#include "w/msgpack.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "stream_fuzz: %s\n", what);
  std::abort();
}

void one_input(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const long size = w::mp::object_size(p, bytes.size());
  check(size <= static_cast<long>(bytes.size()), "object_size past the input");
  if (size > 0) {
    std::string_view obj = bytes.substr(0, static_cast<size_t>(size));
    std::string json;
    if (w::mp::to_json(obj, json).ok()) {
      check(json.size() <= 16 * obj.size() + 64, "JSON more than 16x its msgpack");
      std::string again;
      if (w::mp::from_json(json, again).ok()) {
        std::string json2;
        check(w::mp::to_json(again, json2).ok(), "re-encoded msgpack does not convert");
        std::string again2;
        check(w::mp::from_json(json2, again2).ok(), "second JSON does not parse");
        std::string json3;
        check(w::mp::to_json(again2, json3).ok() && json3 == json2,
              "JSON round trip is not a fixed point");
      }
    }
    // read_item agrees with object_size: walking the object's items, each
    // container adding its children, consumes exactly its bytes.
    std::string_view rest = obj;
    uint64_t pending = 1;
    w::mp::Item item;
    while (pending > 0) {
      check(w::mp::read_item(rest, item), "read_item refuses what object_size accepted");
      --pending;
      if (item.kind == w::mp::Item::kArray) pending += item.count;
      if (item.kind == w::mp::Item::kMap) pending += 2 * uint64_t{item.count};
    }
    check(rest.empty(), "read_item and object_size disagree on the object's size");
    auto view = w::mp::MapView::parse(obj);
    if (view.ok())
      for (const auto& [key, value] : view->entries()) {
        int64_t i;
        double d;
        std::string_view s;
        (void)w::mp::decode_int(value, i);
        (void)w::mp::decode_double(value, d);
        (void)w::mp::decode_str(value, s);
      }
  }
  // JSON -> msgpack as it reads (SAX) gives what the DOM gives, bytes and
  // errors alike.
  std::string out, dom;
  const w::Status sax_status = w::mp::from_json(bytes, out);
  const w::Status dom_status = w::mp::from_json_dom(bytes, dom);
  check(sax_status.ok() == dom_status.ok() && sax_status.message() == dom_status.message(),
        "from_json and the DOM disagree on an error");
  check(out == dom, "from_json and the DOM pack different bytes");

  w::sandbox::FrameReader reader(4096);
  reader.append(bytes.data(), bytes.size());
  w::sandbox::Frame frame;
  for (int i = 0; i < 1000; ++i) {
    auto got = reader.next(frame);
    if (!got.ok() || !*got) break;
    check(frame.payload.size() <= 4096, "frame over its limit");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  one_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

#ifndef W_LIBFUZZER
#include "fuzz_main.h"
int main(int argc, char** argv) {
  return w::fuzz::replay_main("stream_fuzz", argc, argv);
}
#endif
