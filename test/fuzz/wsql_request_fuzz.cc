// libFuzzer target for wsql's request decoder (lib/src/sql/request.cc) and
// the engine behind it.
//
// Built with clang -fsanitize=fuzzer,address -DW_LIBFUZZER it is a fuzzer;
// built plainly (g++) it is a replayer that runs every file named on the
// command line (or found in a named directory), plus deterministic
// mutations of each, so ctest exercises the same checks:
//
// - decoding never crashes; a refusal is bad_request with a message;
// - every request that decodes is executed by an Engine (an in-memory
//   database, a shared key with every right, a 50 ms statement budget),
//   and the reply is exactly one msgpack object, or valid JSON for JSON
//   input, whatever the request asked for;
// - some inputs (every seed, one in eight otherwise) also go the WebSocket
//   way, submit() and poll(), where requests move to the database's worker
//   thread and back: the reply obeys the same rules and comes back.
// Requests naming the copy operation are decoded but not executed: copy
// connects to the URL it is given.
#include "../../lib/src/sql/request.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "w/msgpack.h"
#include "w/sql.h"

namespace {

constexpr char kKey[] = "fuzz-key-0123456789abcdef";
std::string g_dir;    // the engine's directory, removed by the replayer
long g_executed = 0;  // inputs that reached the engine

void check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  std::fprintf(stderr, "wsql_request_fuzz: %s; input (%zu bytes)\n", what, input.size());
  std::abort();
}

w::sql::Engine& engine() {
  static std::unique_ptr<w::sql::Engine> e = [] {
    char tmpl[] = "/tmp/wsql_fuzz.XXXXXX";
    const char* dir = mkdtemp(tmpl);
    if (!dir) std::abort();
    g_dir = dir;
    w::sql::EngineConfig c;
    c.dir = g_dir;
    c.key = kKey;
    c.memory = {"f"};
    c.timeout = 0.05;
    c.max_result = 64 * 1024;
    auto r = w::sql::Engine::open(c);
    if (!r.ok()) {
      std::fprintf(stderr, "wsql_request_fuzz: %s\n", r.status().message().c_str());
      std::abort();
    }
    // A table for the seeds to work on, whatever order they come in.
    (void)(*r)->handle(R"({"op":"create","table":"m","columns":{"id":"INTEGER PRIMARY KEY",)"
                       R"("name":"TEXT UNIQUE","v":"REAL","b":"BLOB"}})",
                       false, "f", kKey);
    (void)(*r)->commit();
    return std::move(*r);
  }();
  return *e;
}

// Decodes; true if every request decoded and none is a copy.
bool decode(std::string_view input, bool msgpack) {
  std::string storage;
  std::vector<std::string_view> parts;
  bool batch = false;
  w::sql::Error e = w::sql::split_message(input, msgpack, storage, parts, batch);
  if (!e.ok()) {
    check(e.code == w::sql::Err::kBadRequest && !e.message.empty(),
          "a split error is not bad_request", input);
    return false;
  }
  bool runnable = true;
  for (std::string_view part : parts) {
    check(w::mp::is_one_object(part), "a split part is not one object", input);
    w::sql::Request r;
    w::sql::Error pe = w::sql::parse_request(part, r);
    if (!pe.ok())
      check(pe.code == w::sql::Err::kBadRequest && !pe.message.empty(),
            "a parse error is not bad_request", input);
    if (r.op == w::sql::Op::kCopy) runnable = false;
  }
  return runnable;
}

void check_reply(const std::string& bytes, bool msgpack, std::string_view input) {
  if (msgpack) {
    check(w::mp::is_one_object(bytes), "the reply is not one msgpack object", input);
  } else {
    check(nlohmann::json::accept(bytes), "the reply is not JSON", input);
  }
}

// The WebSocket way: submit(), then poll() until it is back (the budget is
// 50 ms a message, so 10 s means it was lost).
void via_websocket(std::string_view input, bool msgpack) {
  static uint64_t tag = 0;
  ++tag;
  w::sql::Engine::Reply reply;
  if (!engine().submit(tag, input, msgpack, "f", kKey, tag % 2 == 0, reply)) {
    bool back = false;
    for (int i = 0; i < 10000 && !back; ++i) {
      for (auto& [t, r] : engine().poll())
        if (t == tag) reply = std::move(r), back = true;
      if (!back) usleep(1000);
    }
    check(back, "a submitted message did not come back", input);
  }
  (void)engine().commit();
  check_reply(reply.bytes, msgpack, input);
}

void one_input(std::string_view input, bool websocket) {
  const bool msgpack = !input.empty() && static_cast<uint8_t>(input[0]) >= 0x80;
  if (!decode(input, msgpack)) return;
  ++g_executed;
  w::sql::Engine::Reply reply = engine().handle(input, msgpack, "f", kKey);
  (void)engine().commit();
  check_reply(reply.bytes, msgpack, input);
  if (websocket) via_websocket(input, msgpack);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  one_input(std::string_view(reinterpret_cast<const char*>(data), size), size % 8 == 0);
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
  static const char kBytes[] =
      "{}[]\",:?'\\0123456789-.tfn \x80\x81\x91\xa2\xc0\xc1\xc4\xcf\xd9\xdc\xde\xff";
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
    one_input(s, i % 16 == 0);
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
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "usage: wsql_request_fuzz FILE_OR_DIR...\n";
    return 2;
  }
  constexpr int kMutations = 2000;
  for (const auto& f : files) {
    const std::string seed = read_file(f);
    one_input(seed, true);
    run_mutations(seed, kMutations);
  }
  std::filesystem::remove_all(g_dir);
  std::cout << files.size() << " inputs and " << files.size() * kMutations << " mutations checked, "
            << g_executed << " executed\n";
  return 0;
}
#endif
