// The replayer every test/fuzz target shares when it is not built with
// libFuzzer: each file named on the command line (or found in a named
// directory) is run as is, cut short at a few places, and with single
// bytes flipped, plus seeded random edits, so ctest checks what the fuzzer
// checks on the corpus and its neighbourhood.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace w::fuzz {

inline void one(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

inline void replay(const std::string& data, int edits) {
  one(data);
  for (size_t cut = 0; cut < data.size(); cut += 1 + data.size() / 32) one(data.substr(0, cut));
  for (size_t i = 0; i < data.size(); i += 1 + data.size() / 64) {
    std::string m = data;
    m[i] = static_cast<char>(m[i] ^ 0x5a);
    one(m);
  }
  uint64_t state = 0x9e3779b97f4a7c15ull ^ data.size();
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  // Bytes that change a msgpack value's type or length.
  static const uint8_t kBytes[] = {0x00, 0x05, 0x7f, 0x80, 0x90, 0xa0, 0xa3, 0xc0, 0xc2,
                                   0xc3, 0xc4, 0xca, 0xcb, 0xcc, 0xcf, 0xd3, 0xd9, 0xdc,
                                   0xdd, 0xde, 0xdf, 0xe0, 0xff, '/',  '.',  '%'};
  for (int e = 0; e < edits && !data.empty(); ++e) {
    std::string m = data;
    for (int k = 1 + static_cast<int>(next() % 3); k > 0 && !m.empty(); --k) {
      const size_t at = next() % m.size();
      if (next() % 2)
        m[at] = static_cast<char>(kBytes[next() % sizeof kBytes]);
      else
        m.insert(at, 1, static_cast<char>(kBytes[next() % sizeof kBytes]));
    }
    one(m);
  }
}

/// main() of a replayer: every input in argv (files or directories).
inline int replay_main(const char* name, int argc, char** argv, int edits = 2000) {
  std::vector<std::filesystem::path> files;
  for (int a = 1; a < argc; ++a) {
    if (!std::filesystem::exists(argv[a])) {
      std::fprintf(stderr, "%s: no such corpus: %s\n", name, argv[a]);
      return 1;
    }
    if (std::filesystem::is_directory(argv[a])) {
      for (const auto& e : std::filesystem::directory_iterator(argv[a]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.emplace_back(argv[a]);
    }
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    replay(buf.str(), edits);
  }
  std::printf("%s: %zu inputs replayed, each with %d edits\n", name, files.size(), edits);
  return files.empty() ? 1 : 0;
}

}  // namespace w::fuzz
