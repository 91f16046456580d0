// Kernel names to files (kernel_path.h).
#include "w/kernel_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace w::kernel {
namespace {

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The directory of this program (/usr/bin for /usr/bin/wrun), "" if unknown.
std::string program_dir() {
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string path(exe, static_cast<size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}

}  // namespace

std::vector<std::string> search_path() {
  std::vector<std::string> dirs = {"."};
  if (const char* env = std::getenv("W_KERNEL_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) dirs.emplace_back(dir);  // an empty entry is not "." here
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  // The installed kernels, found from where this program is, so that a
  // tree installed under any prefix (or DESTDIR) finds its own: bin/../lib/
  // wkit/kernels; and build/bin/../kernels in a build tree.
  if (const std::string bin = program_dir(); !bin.empty()) {
    const std::string prefix = bin.substr(0, bin.find_last_of('/'));
    for (const std::string& dir : {prefix + "/lib/wkit/kernels", prefix + "/kernels"})
      if (struct stat st; ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) dirs.push_back(dir);
  }
  return dirs;
}

Result<std::string> find(std::string_view name) {
  const std::string given(name);
  if (given.empty()) return Status::Invalid("no kernel named");
  if (given.find('/') != std::string::npos) return given;  // the caller opens it, and says why not
  std::vector<std::string> names = {given};
  if (given.find('.') == std::string::npos) names.push_back(given + ".so");
  const std::vector<std::string> dirs = search_path();
  for (const std::string& dir : dirs)
    for (const std::string& n : names)
      if (const std::string path = dir == "." ? n : std::string(dir).append("/").append(n);
          is_file(path))
        return path;
  std::string where;
  for (const std::string& dir : dirs) where += (where.empty() ? "" : ", ") + dir;
  return Status::NotFound(
      fmt::format("kernel '{}': not found in {} (W_KERNEL_PATH adds directories)", given, where));
}

}  // namespace w::kernel
