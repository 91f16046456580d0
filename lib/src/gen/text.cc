// Generators over files: lines, CSV rows, whole files.
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "w/gen.h"
#include "w/msgpack.h"

namespace w::gen {
namespace {

// Reads a file (or stdin for "-") line by line without holding it all.
class LineSource {
 public:
  static Result<LineSource> open(const std::string& path) {
    LineSource s;
    if (path == "-") {
      s.fp_ = stdin;
    } else {
      s.fp_ = std::fopen(path.c_str(), "rb");
      if (!s.fp_) return errno_status(fmt::format("open '{}'", path), errno);
      s.owned_ = true;
    }
    return s;
  }
  LineSource(LineSource&& o) noexcept : fp_(o.fp_), owned_(o.owned_) { o.fp_ = nullptr; }
  ~LineSource() {
    if (owned_ && fp_) std::fclose(fp_);
  }
  /// Next line without its newline (and "\r"); false at the end.
  bool next(std::string& line) {
    line.clear();
    int c;
    bool any = false;
    while ((c = std::getc(fp_)) != EOF) {
      any = true;
      if (c == '\n') break;
      line += static_cast<char>(c);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return any;
  }

 private:
  LineSource() = default;
  std::FILE* fp_ = nullptr;
  bool owned_ = false;
};

void pack_typed(mp::Packer& pk, const std::string& field) {
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(field.c_str(), &end, 10);
  if (!field.empty() && *end == '\0' && errno == 0) return pk.integer(i);
  errno = 0;
  double d = std::strtod(field.c_str(), &end);
  if (!field.empty() && *end == '\0' && errno == 0 && std::isfinite(d) &&
      field.find_first_of("xXnN") == std::string::npos)  // not hex, inf or nan
    return pk.real(d);
  pk.str(field);
}

}  // namespace

Status lines(const std::string& path, long long batch, stream::RecordWriter& out) {
  auto src = LineSource::open(path);
  if (!src.ok()) return src.status();
  std::string line, rec, items;
  long long n = 0, first = 1, in_batch = 0;
  auto flush = [&]() -> Status {
    if (in_batch == 0) return {};
    rec.clear();
    mp::Packer pk(rec);
    pk.map(2);
    pk.str("lines");
    pk.array(static_cast<uint32_t>(in_batch));
    pk.raw(items);
    pk.str("first");
    pk.integer(first);
    items.clear();
    in_batch = 0;
    return out.write(rec);
  };
  while (src->next(line)) {
    ++n;
    if (batch <= 1) {
      rec.clear();
      mp::Packer pk(rec);
      pk.map(2);
      pk.str("line");
      pk.str(line);
      pk.str("n");
      pk.integer(n);
      W_RETURN_IF_ERROR(out.write(rec));
      continue;
    }
    if (in_batch == 0) first = n;
    mp::Packer(items).str(line);
    if (++in_batch == batch) W_RETURN_IF_ERROR(flush());
  }
  return flush();
}

bool split_csv(std::string_view line, std::vector<std::string>& fields) {
  fields.assign(1, std::string());
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return !quoted;
}

Status csv(const std::string& path, long long batch, bool header, stream::RecordWriter& out) {
  auto src = LineSource::open(path);
  if (!src.ok()) return src.status();
  std::vector<std::string> names, fields;
  std::string line, record_text, rec, items;
  long long n = 0, first = 1, in_batch = 0, line_no = 0;
  auto pack_row = [&](mp::Packer& pk) -> Status {
    if (header) {
      if (fields.size() != names.size())
        return Status::Invalid(fmt::format("{} line {}: {} fields, the header has {}", path, line_no,
                                           fields.size(), names.size()));
      pk.map(static_cast<uint32_t>(names.size()));
      for (size_t i = 0; i < names.size(); ++i) pk.str(names[i]), pack_typed(pk, fields[i]);
    } else {
      pk.array(static_cast<uint32_t>(fields.size()));
      for (const auto& f : fields) pack_typed(pk, f);
    }
    return {};
  };
  auto flush = [&]() -> Status {
    if (in_batch == 0) return {};
    rec.clear();
    mp::Packer pk(rec);
    pk.map(2);
    pk.str("rows");
    pk.array(static_cast<uint32_t>(in_batch));
    pk.raw(items);
    pk.str("first");
    pk.integer(first);
    items.clear();
    in_batch = 0;
    return out.write(rec);
  };
  bool have_header = !header;
  while (src->next(line)) {
    ++line_no;
    record_text = line;
    // A quoted field may hold newlines: keep reading until the quotes close.
    while (!split_csv(record_text, fields)) {
      if (!src->next(line)) return Status::Invalid(fmt::format("{}: unterminated quoted field at the end", path));
      ++line_no;
      record_text += '\n';
      record_text += line;
    }
    if (record_text.empty()) continue;
    if (!have_header) {
      names = fields;
      have_header = true;
      continue;
    }
    ++n;
    if (batch <= 1) {
      rec.clear();
      mp::Packer pk(rec);
      if (!header) pk.map(1), pk.str("row");
      W_RETURN_IF_ERROR(pack_row(pk));
      W_RETURN_IF_ERROR(out.write(rec));
      continue;
    }
    if (in_batch == 0) first = n;
    mp::Packer pk(items);
    W_RETURN_IF_ERROR(pack_row(pk));
    if (++in_batch == batch) W_RETURN_IF_ERROR(flush());
  }
  return flush();
}

Status files(const std::string& pattern, stream::RecordWriter& out) {
  glob_t g{};
  int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  if (rc == GLOB_NOMATCH) {
    globfree(&g);
    return Status::NotFound(fmt::format("files: nothing matches '{}'", pattern));
  }
  if (rc != 0) {
    globfree(&g);
    return Status::Io(fmt::format("files: cannot read '{}'", pattern));
  }
  Status status;
  std::string rec;
  for (size_t i = 0; i < g.gl_pathc && status.ok(); ++i) {
    const std::string path = g.gl_pathv[i];
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      status = errno_status(fmt::format("open '{}'", path), errno);
      break;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string data = buf.str();
    rec = mp::MapBuilder().str("name", path).integer("size", static_cast<int64_t>(data.size())).bin("data", data).done();
    status = out.write(rec);
  }
  globfree(&g);
  return status;
}

}  // namespace w::gen
