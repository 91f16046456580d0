// libFuzzer target for the pool <-> worker messages (lib/src/proto/
// worker_messages.h): what the pool decodes from workers and what workers
// decode from the pool.
//
// Built with clang -fsanitize=fuzzer -DW_LIBFUZZER it is a fuzzer; built
// plainly it replays the corpus (fuzz_main.h). Checks, for any bytes:
// - no decoder crashes, reads out of bounds or leaks;
// - what decodes re-encodes to a message that decodes again, and encoding
//   is a fixed point after one round (decode . encode keeps every field);
// - every text field that decoded is valid UTF-8 (so JSON, logs and
//   SQLite get no stray bytes).
#include "../../lib/src/proto/worker_messages.h"

#include <cstdio>
#include <cstdlib>

#include "../../lib/src/proto/fields.h"
#include "fuzz_main.h"

namespace {

using namespace w::proto;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "pool_worker_fuzz: %s\n", what);
  std::abort();
}

template <class Variant, class Decode>
void round_trip(const Variant& v, Decode decode) {
  std::string once;
  std::visit(
      [&](const auto& m) {
        if constexpr (requires { encode(m); }) once = encode(m);
      },
      v);
  if (once.empty()) return;  // Unknown: nothing to encode
  auto again = decode(once);
  check(again.ok(), "an encoded message does not decode");
  std::string twice;
  std::visit(
      [&](const auto& m) {
        if constexpr (requires { encode(m); }) twice = encode(m);
      },
      *again);
  check(once == twice, "encode . decode is not a fixed point");
}

void texts(const FromWorker& m) {
  if (auto* h = std::get_if<WorkerHello>(&m))
    check(valid_utf8(h->id) && valid_utf8(h->name) && valid_utf8(h->key) && valid_utf8(h->cap),
          "hello text is not UTF-8");
  if (auto* r = std::get_if<Results>(&m))
    for (const ResultItem& i : r->items)
      check(valid_utf8(i.error) && i.error.size() <= kMaxErrorText, "results error text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto m = decode_from_worker(bytes); m.ok()) {
    texts(*m);
    round_trip(*m, [](std::string_view b) { return decode_from_worker(b); });
  } else {
    check(!m.status().message().empty(), "an error without a message");
  }
  if (auto m = decode_to_worker(bytes); m.ok())
    round_trip(*m, [](std::string_view b) { return decode_to_worker(b); });
  return 0;
}

#ifndef W_LIBFUZZER
int main(int argc, char** argv) {
  return w::fuzz::replay_main("pool_worker_fuzz", argc, argv);
}
#endif
