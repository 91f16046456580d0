// libFuzzer target for the decoders of wrun's direct links (link_wire.h),
// which read bytes from any host that connects to a member's link port,
// before it has proved anything:
// - nothing crashes, reads out of bounds or loops;
// - a hello that decodes encodes back to exactly the bytes it was read
//   from, with a group id of 1-64 token characters;
// - a decoder's verdict on a prefix holds for the whole: a prefix of bytes
//   that decode (or are refused) never was refused (or decoded) itself,
//   so a stranger's junk is refused at its first wrong byte and a hello
//   that comes a byte at a time is read as it would be whole;
// - a frame header never admits a body over its limit;
// - a member reading a link it was handed (sandbox::decode_link_head)
//   admits only its peer's bodies of known kinds within the limit, and
//   decides on the first 9 bytes alone; its worker (link_body_allowed)
//   takes and refuses the same bodies.
// Built with clang -fsanitize=fuzzer,address -DW_LIBFUZZER it is a fuzzer;
// built plainly it replays test/fuzz/corpus/direct_link (fuzz_main.h).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "../../lib/src/sandbox/group.h"
#include "../../lib/src/worker/link_wire.h"

namespace {

namespace link = w::worker::link;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "direct_link_fuzz: %s\n", what);
  std::abort();
}

// Each shorter prefix: kMore if the whole decoded, kMore or kBad (and then
// kBad for every longer prefix) if it was refused.
template <class Decode>
void check_prefixes(std::string_view in, link::Parse whole, size_t used, Decode decode) {
  // The decoders look at no more than a hello's 93 bytes.
  const size_t end = whole == link::Parse::kOk ? used : std::min<size_t>(in.size(), 128);
  bool refused = false;
  for (size_t k = 0; k < end; ++k) {
    const link::Parse p = decode(in.substr(0, k));
    if (whole == link::Parse::kOk)
      check(p == link::Parse::kMore, "a prefix of a valid message is not 'more'");
    if (refused) check(p == link::Parse::kBad, "refused bytes accepted once more came");
    refused = refused || p == link::Parse::kBad;
    check(p != link::Parse::kOk || whole != link::Parse::kBad,
          "a prefix decoded, the whole was refused");
  }
  check(!refused || whole == link::Parse::kBad, "refused bytes accepted once more came");
}

void one_input(std::string_view in) {
  std::string why;
  size_t used = 0;
  link::Hello hello;
  const link::Parse h = link::decode_hello(in, hello, used, why);
  if (h == link::Parse::kOk) {
    check(used <= in.size(), "hello past the input");
    check(link::encode_hello(hello) == in.substr(0, used), "hello does not encode back");
    check(!hello.group.empty() && hello.group.size() <= link::kMaxGroupId, "group id length");
    for (char c : hello.group) check(link::token_char(c), "group id character");
  }
  check(h != link::Parse::kBad || !why.empty(), "a refusal without a reason");
  check_prefixes(in, h, used, [](std::string_view p) {
    link::Hello x;
    size_t u = 0;
    std::string w;
    return link::decode_hello(p, x, u, w);
  });

  // The acceptor's answer, as the dialer reads it.
  link::Answer answer;
  size_t aused = 0;
  const link::Parse a = link::decode_answer(in, answer, aused, why);
  if (a == link::Parse::kOk) {
    check(aused == 1 + link::kNonce + link::kMac && aused <= in.size(), "answer size");
    check(answer.mode == '1' || answer.mode == 'T', "answer mode");
  }
  check_prefixes(in, a, aused, [](std::string_view p) {
    link::Answer x;
    size_t u = 0;
    std::string w;
    return link::decode_answer(p, x, u, w);
  });

  // Frames after the handshake: each header admits at most the limit.
  std::string_view rest = h == link::Parse::kOk ? in.substr(used) : in;
  constexpr size_t kMax = 1 << 16;
  for (int i = 0; i < 10000 && !rest.empty(); ++i) {
    size_t body = 0;
    const link::Parse f = link::decode_frame_header(rest, kMax, body, why);
    if (f != link::Parse::kOk) break;
    check(body <= kMax, "a frame over its limit");
    if (rest.size() - 4 < body) break;
    rest.remove_prefix(4 + body);
  }

  // The same bytes as a member reads them on a link from rank `peer`.
  namespace sb = w::sandbox;
  const int peer = in.empty() ? 0 : static_cast<uint8_t>(in[0]) % 4;
  rest = in.empty() ? in : in.substr(1);
  for (int i = 0; i < 10000; ++i) {
    sb::LinkHead head;
    const int got = sb::decode_link_head(rest, peer, kMax, head);
    check(got == 0 || rest.size() >= sb::kLinkHead, "decided before the head came");
    if (rest.size() > sb::kLinkHead) {
      sb::LinkHead again;
      check(sb::decode_link_head(rest.substr(0, sb::kLinkHead), peer, kMax, again) == got,
            "a link head decided by bytes after it");
    }
    // The worker's check of a whole body (link_body_allowed) agrees.
    const size_t length = rest.size() >= 4 ? link::get_u32(rest.data()) : 0;
    if (length >= 5 && length - 5 <= kMax && rest.size() - 4 >= length)
      check((got == 1) == sb::link_body_allowed(rest.substr(4, length), peer),
            "the worker and the member disagree on a body");
    if (got <= 0) break;
    check(head.message <= kMax, "a member's message over its limit");
    check(head.kind == sb::kBodyMessage || head.message == 0, "a token with bytes");
    check(head.kind == sb::kBodyMessage || head.kind == sb::kBodyBarrier ||
              head.kind == sb::kBodyFinished,
          "a kind a link does not carry");
    check(link::get_u32(rest.data() + 5) == static_cast<uint32_t>(peer), "another rank's body");
    if (rest.size() - sb::kLinkHead < head.message) break;
    rest.remove_prefix(sb::kLinkHead + head.message);
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
  return w::fuzz::replay_main("direct_link_fuzz", argc, argv);
}
#endif
