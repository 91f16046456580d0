// --static: the campaign's static dataset, from a file or JSON text. Used by
// wrun's filter mode, wgen's kernel generator and wpool submit alike, so it
// sits in the stream layer below all three.
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "w/msgpack.h"
#include "w/stream.h"

namespace w::stream {

Result<std::string> load_static(const std::string& arg) {
  if (arg.empty()) return std::string();
  std::string text = arg;
  struct stat st;
  const bool is_file = ::stat(arg.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (is_file) {
    std::ifstream in(arg, std::ios::binary);
    if (!in) return errno_status(fmt::format("open '{}'", arg), errno);
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
    if (!text.empty() && mp::is_one_object(text) && static_cast<unsigned char>(text[0]) >= 0x80)
      return text;  // already msgpack
  } else if (!arg.empty() && arg.front() != '{' && arg.front() != '[' &&
             arg.find('/') != std::string::npos) {
    return Status::NotFound(fmt::format("static dataset '{}': no such file", arg));
  }
  std::string out;
  Status s = mp::from_json(text, out);
  if (!s.ok())
    return Status::Invalid(fmt::format("static dataset {}: {}",
                                       is_file ? "'" + arg + "'" : "(--static)", s.message()));
  return out;
}

}  // namespace w::stream
