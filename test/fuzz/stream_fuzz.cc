// libFuzzer target for the decoders every program runs on outside bytes:
// msgpack framing (object_size), the item reader (read_item, which the
// quorum walks worker output with), msgpack -> JSON, JSON -> msgpack,
// MapView, and the slot frame reader.
//
// Built with clang -fsanitize=fuzzer,address -DW_LIBFUZZER it is a fuzzer;
// built plainly (g++) it replays every file in the directories or files
// named on the command line, plus deterministic mutations of each, so ctest
// runs the same checks:
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
#include <filesystem>
#include <fstream>
#include <sstream>
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
// Replayer: each input as is, then truncated and with single bytes flipped.
int main(int argc, char** argv) {
  size_t inputs = 0;
  auto replay = [&](const std::string& data) {
    one_input(data);
    for (size_t cut = 0; cut < data.size(); cut += 1 + data.size() / 64)
      one_input(data.substr(0, cut));
    for (size_t i = 0; i < data.size(); i += 1 + data.size() / 64) {
      std::string m = data;
      m[i] = static_cast<char>(m[i] ^ 0x5a);
      one_input(m);
    }
    ++inputs;
  };
  for (int a = 1; a < argc; ++a) {
    std::filesystem::path path(argv[a]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(path)) {
      for (const auto& e : std::filesystem::directory_iterator(path)) files.push_back(e.path());
    } else {
      files.push_back(path);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::ostringstream buf;
      buf << in.rdbuf();
      replay(buf.str());
    }
  }
  std::printf("stream_fuzz: %zu inputs replayed\n", inputs);
  return inputs > 0 ? 0 : 1;
}
#endif
