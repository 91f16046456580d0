#include "w/stream.h"

#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "w/msgpack.h"

namespace w::stream {
namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;
constexpr size_t kWriteChunk = size_t{64} * 1024;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

Result<Format> parse_format(std::string_view name) {
  if (name == "json" || name == "jsonl") return Format::kJson;
  if (name == "msgpack") return Format::kMsgpack;
  return Status::Invalid(fmt::format("unknown format '{}' (use json or msgpack)", name));
}

const char* format_name(Format f) {
  return f == Format::kJson ? "json" : "msgpack";
}

RecordReader::RecordReader(int fd, std::string name, size_t max_record)
    : fd_(fd), name_(std::move(name)), max_record_(max_record) {}

void RecordReader::compact() {
  if (start_ == 0) return;
  if (start_ >= buf_.size()) {
    buf_.clear();
  } else if (start_ > buf_.size() / 2 || buf_.size() - start_ < 4096) {
    buf_.erase(0, start_);
  } else {
    return;
  }
  start_ = 0;
}

Status RecordReader::fill() {
  compact();
  size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  ssize_t n;
  do {
    n = ::read(fd_, buf_.data() + old, kReadChunk);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    buf_.resize(old);
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
    return errno_status("read " + name_, errno);
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  return {};
}

Result<bool> RecordReader::take(std::string& record) {
  if (!format_known_) {
    while (start_ < buf_.size() && is_space(buf_[start_])) {
      if (buf_[start_] == '\n') ++line_;
      ++start_;
    }
    if (start_ == buf_.size()) return false;
    const auto first = static_cast<uint8_t>(buf_[start_]);
    if (first == '{') {
      format_ = Format::kJson;
    } else if (mp::starts_map(first)) {
      format_ = Format::kMsgpack;
    } else {
      return Status::Invalid(
          fmt::format("{}: input is neither JSON Lines nor MessagePack maps (first byte 0x{:02x}); "
                      "each record must be a JSON object or a msgpack map",
                      name_, first));
    }
    format_known_ = true;
  }
  return format_ == Format::kJson ? take_json(record) : take_msgpack(record);
}

Result<bool> RecordReader::take_json(std::string& record) {
  while (true) {
    size_t nl = buf_.find('\n', start_);
    if (nl == std::string::npos) {
      if (buf_.size() - start_ > max_record_)
        return Status::Invalid(
            fmt::format("{} line {}: record longer than {} bytes", name_, line_ + 1, max_record_));
      if (!eof_) return false;
      if (start_ == buf_.size()) return false;
      nl = buf_.size();  // last line without a newline
    }
    std::string_view line(buf_.data() + start_, nl - start_);
    start_ = nl < buf_.size() ? nl + 1 : nl;
    ++line_;
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    if (line.empty()) continue;  // blank lines separate nothing
    if (line.front() != '{')
      return Status::Invalid(
          fmt::format("{} line {}: expected a JSON object, got '{:.40}'", name_, line_, line));
    record.clear();
    Status s = mp::from_json(line, record);
    if (!s.ok()) return s.with_context(fmt::format("{} line {}", name_, line_));
    ++count_;
    return true;
  }
}

Result<bool> RecordReader::take_msgpack(std::string& record) {
  const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + start_);
  const size_t avail = buf_.size() - start_;
  if (avail == 0) return false;
  if (!mp::starts_map(p[0]))
    return Status::Invalid(fmt::format("{} record {}: expected a msgpack map (byte 0x{:02x})",
                                       name_, count_ + 1, p[0]));
  long size = mp::object_size(p, avail);
  if (size == mp::kMalformed)
    return Status::Invalid(fmt::format("{} record {}: malformed msgpack", name_, count_ + 1));
  if (size == mp::kNeedMore) {
    if (avail > max_record_)
      return Status::Invalid(
          fmt::format("{} record {}: larger than {} bytes", name_, count_ + 1, max_record_));
    if (eof_)
      return Status::Invalid(
          fmt::format("{} record {}: truncated msgpack at end of input", name_, count_ + 1));
    return false;
  }
  record.assign(buf_.data() + start_, static_cast<size_t>(size));
  start_ += static_cast<size_t>(size);
  ++count_;
  return true;
}

Result<bool> RecordReader::next(std::string& record) {
  while (true) {
    auto got = take(record);
    if (!got.ok() || *got) return got;
    if (eof_) return false;
    W_RETURN_IF_ERROR(fill());
  }
}

RecordWriter::~RecordWriter() {
  (void)flush();
}

Status RecordWriter::write(std::string_view msgpack) {
  if (!failed_.ok()) return failed_;
  if (format_ == Format::kMsgpack) {
    buf_.append(msgpack);
  } else {
    size_t mark = buf_.size();
    Status s = mp::to_json(msgpack, buf_);
    if (!s.ok()) {
      buf_.resize(mark);
      return s;
    }
    buf_.push_back('\n');
  }
  if (buf_.size() >= kWriteChunk) return flush();
  return {};
}

Status RecordWriter::flush() {
  if (!failed_.ok()) return failed_;
  if (buf_.empty()) return {};
  failed_ = write_all(fd_, buf_);
  buf_.clear();
  return failed_;
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("write output", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace w::stream
