// libFuzzer target for wsig's message parser (lib/src/sig/message.cc).
//
// Built with clang -fsanitize=fuzzer,address -DW_LIBFUZZER it is a fuzzer;
// built plainly (g++) it is a replayer that runs every file named on the
// command line (or found in a named directory), plus deterministic
// mutations of each, so ctest exercises the same checks:
//
// - the parser never crashes, and accepts exactly one JSON object;
// - a kept payload is itself valid JSON, and survives build_message and a
//   second parse byte for byte (the splice is exact);
// - whatever nlohmann::json accepts as a shallow object, the parser accepts
//   too, and they agree on "type" and "dst" (last duplicate key wins).
#include "../../lib/src/sig/message.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

void check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  std::fprintf(stderr, "wsig_message_fuzz: %s; input (%zu bytes): %.*s\n", what, input.size(),
               static_cast<int>(std::min<size_t>(input.size(), 400)), input.data());
  std::abort();
}

size_t nesting(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += c == '[' || c == '{';
  return n;
}

void one_input(std::string_view text) {
  using namespace w::sig;
  Message m;
  const bool ours = parse_message(text, m);
  if (ours && m.has_payload) {
    check(valid_json(m.payload), "payload is not valid JSON", text);
    const std::string rebuilt = build_message(type_name(Type::kOffer), "src", "dst", m.payload);
    Message again;
    check(parse_message(rebuilt, again), "a rebuilt message does not parse", text);
    check(again.payload == m.payload, "the payload changed on the way through", text);
  }
  // nlohmann's lexer takes a NUL byte for the end of input; JSON.parse and
  // wsig do not.
  if (nesting(text) >= static_cast<size_t>(kMaxDepth) || text.find('\0') != text.npos) return;
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return;
  check(ours, "nlohmann accepts an object the parser refuses", text);
  const auto t = j.find("type");
  const bool typed = t != j.end() && t->is_string();
  check(m.type == (typed ? type_from_name(t->get<std::string>()) : Type::kUnknown),
        "type disagrees", text);
  const auto d = j.find("dst");
  const bool has_dst = d != j.end() && d->is_string();
  check(has_dst == m.has_dst && (!has_dst || d->get<std::string>() == m.dst), "dst disagrees",
        text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  one_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

#ifndef W_LIBFUZZER
namespace {

// Flips, cuts and splices bytes, seeded so every run checks the same inputs.
void run_mutations(const std::string& seed, int count) {
  uint64_t state = 0x9e3779b97f4a7c15ull ^ seed.size();
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  static const char kBytes[] = "{}[]\",:\\u0123456789eE+-.tfn \x80\xc3\xa9\xed\xf4\x00";
  for (int i = 0; i < count; ++i) {
    std::string s = seed;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = next() % s.size();
      switch (next() % 4) {
        case 0:
          s[at] = kBytes[next() % (sizeof kBytes - 1)];
          break;
        case 1:
          s.erase(at, 1 + next() % 8);
          break;
        case 2:
          s.insert(at, 1, kBytes[next() % (sizeof kBytes - 1)]);
          break;
        default:
          s.insert(at, s.substr(next() % s.size(), next() % 16));
          break;
      }
    }
    one_input(s);
  }
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::directory_iterator(argv[i])) files.push_back(e.path());
    } else {
      files.emplace_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::cerr << "usage: wsig_message_fuzz FILE_OR_DIR...\n";
    return 2;
  }
  for (const auto& f : files) {
    const std::string seed = read_file(f);
    one_input(seed);
    run_mutations(seed, 5000);
  }
  std::cout << files.size() << " inputs and " << files.size() * 5000 << " mutations checked\n";
  return 0;
}
#endif
