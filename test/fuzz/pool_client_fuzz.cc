// libFuzzer target for the pool <-> client messages (lib/src/proto/
// client_messages.h): the requests the pool decodes and the answers
// `wpool submit`, `status`, ... decode.
//
// Built with clang -fsanitize=fuzzer -DW_LIBFUZZER it is a fuzzer; built
// plainly it replays the corpus (fuzz_main.h). Checks, for any bytes:
// - no decoder crashes, reads out of bounds or leaks;
// - a request that decodes re-encodes to one that decodes again, and the
//   encoding is a fixed point after one round;
// - a decoded campaign's settings are within the protocol's limits.
#include "../../lib/src/proto/client_messages.h"

#include <cstdio>
#include <cstdlib>

#include "fuzz_main.h"

namespace {

using namespace w::proto;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "pool_client_fuzz: %s\n", what);
  std::abort();
}

std::string encoded(const FromClient& v) {
  return std::visit([](const auto& m) { return encode(m); }, v);
}

// An answer decoder: if the bytes decode, their encoding decodes to the same.
template <class T>
void answer(w::Result<T> (*decode)(std::string_view), std::string_view bytes) {
  auto m = decode(bytes);
  if (!m.ok()) return;
  const std::string once = encode(*m);
  auto again = decode(once);
  check(again.ok(), "an encoded answer does not decode");
  check(encode(*again) == once, "answer: encode . decode is not a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto m = decode_from_client(bytes); m.ok()) {
    if (auto* o = std::get_if<Open>(&*m))
      check(o->replicas >= 1 && o->replicas <= kMaxReplicas && o->quorum <= o->replicas &&
                o->group >= 1 && o->group <= kMaxGroup && (o->group == 1 || o->replicas == 1) &&
                o->timeout_ms >= 0 && o->timeout_ms <= kMaxTimeoutMs,
            "open outside its limits");
    const std::string once = encoded(*m);
    auto again = decode_from_client(once);
    check(again.ok(), "an encoded request does not decode");
    check(encoded(*again) == once, "encode . decode is not a fixed point");
  }
  answer<KernelStored>(decode_kernel_stored, bytes);
  answer<Opened>(decode_opened, bytes);
  answer<Ack>(decode_ack, bytes);
  answer<StatusAnswer>(decode_status_answer, bytes);
  answer<WorkersAnswer>(decode_workers_answer, bytes);
  answer<ResultsPage>(decode_results_page, bytes);
  answer<KernelList>(decode_kernel_list, bytes);
  return 0;
}

#ifndef W_LIBFUZZER
int main(int argc, char** argv) {
  return w::fuzz::replay_main("pool_client_fuzz", argc, argv);
}
#endif
