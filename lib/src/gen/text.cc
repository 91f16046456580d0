// lines and csv: records from a text file or stdin, read in fixed buffers.
//
// Memory is one read buffer, the current line (at most kMaxLine) and, with
// --batch, the records of one batch. A CSV record may span lines when a
// quoted field holds newlines: the parser below keeps its state between
// lines, so a stray quote costs one pass over the rest of the input (and an
// error at kMaxLine), never a re-scan per line.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "w/gen.h"
#include "w/msgpack.h"

namespace w::gen {
namespace {

// Lines of a file or stdin ("-"). One per generator call; closes what it opened.
class LineReader {
 public:
  LineReader() = default;
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  ~LineReader() {
    if (fd_ > STDIN_FILENO) ::close(fd_);
  }

  Status open(const std::string& path) {
    name_ = path == "-" ? "stdin" : path;
    fd_ = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return errno_status(fmt::format("open '{}'", path), errno);
    return {};
  }

  /// The next line without "\n" or "\r\n"; false at the end of input.
  Result<bool> next(std::string& line) {
    line.clear();
    bool any = false;
    while (true) {
      if (pos_ == end_) {
        if (eof_) break;
        W_RETURN_IF_ERROR(fill());
        continue;
      }
      const char* start = buf_ + pos_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
      const size_t n = nl ? static_cast<size_t>(nl - start) : end_ - pos_;
      if (line.size() + n > kMaxLine)
        return Status::Invalid(
            fmt::format("{} line {}: longer than {} MiB", name_, number_ + 1, kMaxLine >> 20));
      line.append(start, n);
      pos_ += n;
      any = true;
      if (nl) {
        ++pos_;
        break;
      }
    }
    if (!any) return false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ++number_;
    return true;
  }

  /// The number of the line next() returned last (from 1).
  long long number() const { return number_; }
  const std::string& name() const { return name_; }

 private:
  Status fill() {
    ssize_t n;
    do n = ::read(fd_, buf_, sizeof buf_);
    while (n < 0 && errno == EINTR);
    if (n < 0) return errno_status(fmt::format("read '{}'", name_), errno);
    pos_ = 0;
    end_ = static_cast<size_t>(n);
    eof_ = n == 0;
    return {};
  }

  int fd_ = -1;
  std::string name_;
  char buf_[64 << 10];
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  long long number_ = 0;
};

// Collects items into {"<key>": [...], "first": n} records of `size` items.
class Batch {
 public:
  Batch(const char* key, long long size, stream::RecordWriter& out)
      : key_(key), size_(size), out_(out) {}

  /// Adds one msgpack item numbered n; writes the batch when it is full.
  Status add(long long n, std::string_view item) {
    if (count_ == 0) first_ = n;
    if (items_.size() + item.size() > kMaxLine)
      return Status::Invalid(fmt::format("a batch of {} {} is over {} MiB: use a smaller --batch",
                                         size_, key_, kMaxLine >> 20));
    items_ += item;
    return ++count_ == size_ ? flush() : Status();
  }

  /// Writes the items so far (the last batch may be short).
  Status flush() {
    if (count_ == 0) return {};
    rec_.clear();
    mp::Packer pk(rec_);
    pk.map(2);
    pk.str(key_);
    pk.array(static_cast<uint32_t>(count_));
    pk.raw(items_);
    pk.str("first");
    pk.integer(first_);
    items_.clear();
    count_ = 0;
    return out_.write(rec_);
  }

 private:
  const char* key_;
  long long size_, count_ = 0, first_ = 0;
  std::string items_, rec_;
  stream::RecordWriter& out_;
};

Status check_batch(long long batch) {
  if (batch < 0 || batch > 10'000'000)
    return Status(Code::kUsage, fmt::format("--batch {} is not within 0..10000000", batch));
  return {};
}

// RFC 4180 fields, fed a line at a time: a quote opens a quoted field only
// at the start of a field; inside one, "" is a quote and a lone quote closes
// it. Quotes elsewhere, and text after a closing quote, are kept as they are.
class CsvParser {
 public:
  explicit CsvParser(std::vector<std::string>& fields) : fields_(fields) { fields_.assign(1, {}); }

  /// Parses more text; true if the record is complete (not inside quotes).
  bool feed(std::string_view text) {
    for (char c : text) {
      switch (state_) {
        case kFieldStart:
          if (c == '"')
            state_ = kQuoted;
          else if (c == ',')
            fields_.emplace_back();
          else
            fields_.back() += c, state_ = kUnquoted;
          break;
        case kUnquoted:
        case kAfterQuote:
          if (c == ',')
            fields_.emplace_back(), state_ = kFieldStart;
          else if (c == '"' && state_ == kAfterQuote)
            fields_.back() += c, state_ = kQuoted;
          else
            fields_.back() += c, state_ = kUnquoted;
          break;
        case kQuoted:
          if (c == '"')
            state_ = kAfterQuote;
          else
            fields_.back() += c;
          break;
      }
    }
    return state_ != kQuoted;
  }

 private:
  enum State { kFieldStart, kUnquoted, kQuoted, kAfterQuote } state_ = kFieldStart;
  std::vector<std::string>& fields_;
};

// Reads one CSV record (one line, or more while a quoted field is open).
static_assert(kMaxLine == 64u << 20, "the message below says 64 MiB");
Result<bool> read_csv_record(LineReader& in, std::string& line, std::vector<std::string>& fields) {
  do {
    auto got = in.next(line);
    if (!got.ok() || !*got) return got;
  } while (line.empty());
  if (in.number() == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // UTF-8 BOM
  CsvParser parser(fields);
  size_t size = line.size();
  const long long first = in.number();
  for (bool done = parser.feed(line); !done; done = parser.feed(line)) {
    auto got = in.next(line);
    if (!got.ok()) return got;
    if (!*got || (size += line.size() + 1) > kMaxLine)
      return Status::Invalid(fmt::format("{} line {}: a quoted field is not closed {}", in.name(),
                                         first, *got ? "within 64 MiB" : "by the end"));
    parser.feed("\n");
  }
  return true;
}

Status check_header(const LineReader& in, std::vector<std::string>& names) {
  std::set<std::string_view> seen;
  for (const std::string& n : names)
    if (!seen.insert(n).second)
      return Status::Invalid(
          fmt::format("{} line {}: the header names '{}' twice", in.name(), in.number(), n));
  return {};
}

// The fields as a map keyed by the header, or as an array without one.
Status pack_row(const LineReader& in, const std::vector<std::string>* names,
                const std::vector<std::string>& fields, std::string& item) {
  item.clear();
  mp::Packer pk(item);
  if (!names) {
    pk.array(static_cast<uint32_t>(fields.size()));
    for (const auto& f : fields) append_typed(f, item);
    return {};
  }
  if (fields.size() != names->size())
    return Status::Invalid(fmt::format("{} line {}: {} fields, the header has {}", in.name(),
                                       in.number(), fields.size(), names->size()));
  pk.map(static_cast<uint32_t>(names->size()));
  for (size_t i = 0; i < names->size(); ++i) {
    pk.str((*names)[i]);
    append_typed(fields[i], item);
  }
  return {};
}

}  // namespace

bool split_csv(std::string_view text, std::vector<std::string>& fields) {
  return CsvParser(fields).feed(text);
}

Status lines(const LinesOptions& o, stream::RecordWriter& out) {
  W_RETURN_IF_ERROR(check_batch(o.batch));
  LineReader in;
  W_RETURN_IF_ERROR(in.open(o.path));
  Batch batch("lines", o.batch, out);
  std::string line, rec;
  while (true) {
    auto got = in.next(line);
    if (!got.ok()) return got.status();
    if (!*got) break;
    rec.clear();
    mp::Packer pk(rec);
    if (o.batch > 0) {
      pk.str(line);
      W_RETURN_IF_ERROR(batch.add(in.number(), rec));
      continue;
    }
    pk.map(2);
    pk.str("line");
    pk.str(line);
    pk.str("n");
    pk.integer(in.number());
    W_RETURN_IF_ERROR(out.write(rec));
  }
  return batch.flush();
}

Status csv(const CsvOptions& o, stream::RecordWriter& out) {
  W_RETURN_IF_ERROR(check_batch(o.batch));
  LineReader in;
  W_RETURN_IF_ERROR(in.open(o.path));
  Batch batch("rows", o.batch, out);
  std::vector<std::string> names, fields;
  std::string line, item, rec;
  for (long long row = 0;;) {
    auto got = read_csv_record(in, line, fields);
    if (!got.ok()) return got.status();
    if (!*got) break;
    if (o.header && names.empty()) {
      names = std::move(fields);
      W_RETURN_IF_ERROR(check_header(in, names));
      continue;
    }
    W_RETURN_IF_ERROR(pack_row(in, o.header ? &names : nullptr, fields, item));
    if (o.batch > 0) {
      W_RETURN_IF_ERROR(batch.add(++row, item));
    } else if (o.header) {
      W_RETURN_IF_ERROR(out.write(item));
    } else {
      rec.clear();
      mp::Packer pk(rec);
      pk.map(1);
      pk.str("row");
      pk.raw(item);
      W_RETURN_IF_ERROR(out.write(rec));
    }
  }
  return batch.flush();
}

}  // namespace w::gen
