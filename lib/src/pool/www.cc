#include "www.h"

#include <sys/stat.h>
#include <unistd.h>
#include <fstream>
#include <iterator>

#include "w/sha256.h"

namespace w::pool {
namespace {

// Chromium compiles wasm only when it is served as application/wasm.
const char* mime_type(const std::string& name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
  };
  for (const auto& [ext, type] : kTypes)
    if (name.ends_with(ext)) return type;
  return "application/octet-stream";
}

bool plain_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_')
      return false;
  return true;
}

}  // namespace

std::string resolve_www_dir(const std::string& dir) {
  if (!dir.empty()) return dir;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string bin(exe, static_cast<size_t>(n));
  bin.resize(bin.find_last_of('/'));
  const std::string prefix = bin.substr(0, bin.find_last_of('/'));
  for (const std::string& candidate : {prefix + "/www", prefix + "/share/wkit/www"}) {
    struct stat st;
    if (::stat((candidate + "/index.html").c_str(), &st) == 0) return candidate;
  }
  return "";
}

std::optional<net::HttpResponse> www_file(const std::string& dir, const std::string& path) {
  if (dir.empty() || path.empty() || path[0] != '/') return std::nullopt;
  const std::string name = path == "/" ? "index.html" : path.substr(1);
  if (!plain_name(name)) return std::nullopt;
  const std::string file = dir + "/" + name;
  struct stat st;
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  net::HttpResponse r;
  r.content_type = mime_type(name);
  r.file = file;
  // Revalidate every time: a new build must reach volunteers at once.
  r.headers.emplace_back("ETag", "\"" + sha256_hex(bytes) + "\"");
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  // Cross-origin isolation: the browser worker's members of coupled tasks
  // block in w_recv on a SharedArrayBuffer, which needs both (www/worker.js).
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Embedder-Policy", "require-corp");
  return r;
}

}  // namespace w::pool
