// libFuzzer target for what the pool's HTTP side makes of a request line:
// static-file path resolution (lib/src/pool/www.cc: "..", percent-encoded
// and NUL bytes, dot files, subdirectories) and query arguments
// (lib/src/net/http.cc: percent-decoding, '+', repeated and empty names).
//
// The input is "PATH\nQUERY". A directory of served files is made once,
// beside a secret file and a subdirectory that must never be served.
// Built with clang -fsanitize=fuzzer -DW_LIBFUZZER it is a fuzzer; built
// plainly it replays the corpus (fuzz_main.h). Checks:
// - www_file() serves only a regular file directly inside the directory
//   (its real path's parent is the directory's real path), never a dot file;
// - url_decode() never grows its input, and an argument's value is never
//   longer than the query;
// - parse_listen() accepts only ports 0..65535.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../../lib/src/pool/www.h"
#include "fuzz_main.h"
#include "w/net.h"

namespace {

void check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  std::fprintf(stderr, "http_path_fuzz: %s; input (%zu bytes): %.*s\n", what, input.size(),
               static_cast<int>(std::min<size_t>(input.size(), 300)), input.data());
  std::abort();
}

std::string g_root;  // removed at exit

// The served directory, made once: www/{index.html,app.js,.hidden,sub/x.js}
// with secret.txt beside www/.
const std::string& served_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/http_path_fuzz.XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (!made) std::abort();
    const std::string root = g_root = made;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(g_root, ec);
    });
    const std::string www = root + "/www";
    std::filesystem::create_directories(www + "/sub");
    for (const char* f : {"/index.html", "/app.js", "/.hidden", "/sub/x.js"})
      std::ofstream(www + f) << "served\n";
    std::ofstream(root + "/secret.txt") << "secret\n";
    return www;
  }();
  return dir;
}

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string path(input.substr(0, nl));
  const std::string query(nl == std::string_view::npos ? "" : input.substr(nl + 1));
  const std::string& dir = served_dir();

  // lws percent-decodes the path before the pool sees it: try it both ways.
  for (const std::string& p : {path, w::net::url_decode(path)}) {
    auto r = w::pool::www_file(dir, p);
    if (!r) continue;
    const std::string file = real(r->file);
    check(!file.empty(), "served a file that does not exist", input);
    check(std::filesystem::path(file).parent_path() == real(dir), "served outside the directory",
          input);
    check(std::filesystem::path(file).filename().string()[0] != '.', "served a dot file", input);
  }

  check(w::net::url_decode(query).size() <= query.size(), "url_decode grew", input);
  w::net::HttpRequest request;
  request.path = path;
  request.query = query;
  for (const char* name : {"cap", "key", "", "a b", "%00"}) {
    check(request.arg(name).size() <= query.size(), "an argument longer than the query", input);
    (void)request.has_arg(name);
  }
  auto listen = w::net::parse_listen(path);
  check(!listen.ok() || (listen->second >= 0 && listen->second <= 65535), "port out of range",
        input);
  return 0;
}

#ifndef W_LIBFUZZER
int main(int argc, char** argv) {
  return w::fuzz::replay_main("http_path_fuzz", argc, argv);
}
#endif
