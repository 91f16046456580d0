// Dataset and result streams on pipes: JSON Lines or MessagePack.
//
// A stream is a sequence of records (JSON objects / msgpack maps). Readers
// detect the format from the first byte ('{' or a msgpack map header) and
// hand out each record as msgpack bytes, so the rest of wkit deals in one
// form. Writers take msgpack bytes and write them in the chosen format.
// Memory is bounded by the largest record (capped) plus a read buffer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "w/status.h"

namespace w::stream {

enum class Format { kJson, kMsgpack };

/// "json" / "jsonl" / "msgpack" -> Format.
Result<Format> parse_format(std::string_view name);
const char* format_name(Format f);

/// Reads records from a file descriptor. Not thread-safe; one per stream.
class RecordReader {
 public:
  /// `max_record` caps a record's size so bad input cannot eat memory.
  explicit RecordReader(int fd, std::string name = "stdin", size_t max_record = 64u << 20);

  /// Blocking: stores the next record's msgpack bytes in `record`.
  /// Returns true for a record, false at a clean end of input.
  Result<bool> next(std::string& record);

  // Event-loop use: poll fd() for input, call fill() once when readable,
  // then take() until it returns false.

  /// One read(2) into the buffer; sets eof() at end of input.
  Status fill();
  /// Moves one complete buffered record into `record`; false if none is
  /// complete yet (or at the end). Errors name the record and what is wrong.
  Result<bool> take(std::string& record);
  bool eof() const { return eof_; }
  /// True when take() would find nothing more: end of input, buffer used up.
  bool done() const { return eof_ && start_ == buf_.size(); }
  int fd() const { return fd_; }
  /// Records returned so far (the next record's number is count() + 1).
  long long count() const { return count_; }

 private:
  Result<bool> take_json(std::string& record);
  Result<bool> take_msgpack(std::string& record);
  void compact();

  int fd_;
  std::string name_;
  size_t max_record_;
  std::string buf_;
  size_t start_ = 0;  // first unconsumed byte in buf_
  bool eof_ = false;
  bool format_known_ = false;
  Format format_ = Format::kJson;
  long long count_ = 0;
  long long line_ = 0;  // JSON: lines consumed, for error messages
};

/// Writes records to a file descriptor, buffered. flush() before exit.
/// A closed pipe downstream comes back as Code::kBrokenPipe (callers stop
/// quietly; SIGPIPE must be ignored, as cli::Program does).
class RecordWriter {
 public:
  RecordWriter(int fd, Format format) : fd_(fd), format_(format) {}
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  /// Writes one record given as msgpack bytes (one object).
  Status write(std::string_view msgpack);
  Status flush();
  Format format() const { return format_; }

 private:
  int fd_;
  Format format_;
  std::string buf_;
  Status failed_;  // sticky: once the pipe is gone every write says so
};

/// Writes all of `data` to fd, retrying on EINTR and short writes.
Status write_all(int fd, std::string_view data);

/// Reads --static: a file (JSON or msgpack) if it names one, else JSON text.
/// Returns the msgpack bytes handed to w_init ("" for an empty `arg`).
Result<std::string> load_static(const std::string& arg);

}  // namespace w::stream
