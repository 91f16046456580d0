#include "output.h"

#include <algorithm>

#include <fmt/format.h>

#include "value.h"
#include "w/msgpack.h"

namespace w::sql {
namespace {

// JSON Lines or msgpack: one map per row, through the stream writer.
class RecordPrinter : public RowPrinter {
 public:
  RecordPrinter(int fd, stream::Format f) : out_(fd, f) {}
  Status columns(const std::vector<std::string>& names) override {
    names_ = names;
    return {};
  }
  Status row(const std::vector<std::string_view>& values) override {
    buf_.clear();
    mp::Packer pk(buf_);
    pk.map(static_cast<uint32_t>(values.size()));
    for (size_t i = 0; i < values.size(); ++i) {
      pk.str(i < names_.size() ? names_[i] : fmt::format("column{}", i + 1));
      pk.raw(values[i]);
    }
    return out_.write(buf_);
  }
  Status finish() override { return out_.flush(); }

 private:
  stream::RecordWriter out_;
  std::vector<std::string> names_;
  std::string buf_;
};

// CSV (RFC 4180) and TSV (tabs, newlines and backslashes escaped), with a
// header line.
class TextPrinter : public RowPrinter {
 public:
  TextPrinter(int fd, bool csv) : fd_(fd), csv_(csv) {}
  Status columns(const std::vector<std::string>& names) override {
    std::vector<std::string> cells(names.begin(), names.end());
    return line(cells);
  }
  Status row(const std::vector<std::string_view>& values) override {
    std::vector<std::string> cells;
    cells.reserve(values.size());
    for (std::string_view v : values) cells.push_back(value_text(v, ""));
    return line(cells);
  }
  Status finish() override {
    Status s = stream::write_all(fd_, buf_);
    buf_.clear();
    return s;
  }

 private:
  Status line(const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) buf_ += csv_ ? ',' : '\t';
      buf_ += csv_ ? csv_cell(cells[i]) : tsv_cell(cells[i]);
    }
    buf_ += '\n';
    return buf_.size() > (1 << 16) ? finish() : Status();
  }
  static std::string csv_cell(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  static std::string tsv_cell(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\t')
        out += "\\t";
      else if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else if (c == '\\')
        out += "\\\\";
      else
        out += c;
    }
    return out;
  }
  int fd_;
  bool csv_;
  std::string buf_;
};

// An aligned table for people: every row is kept until finish().
class TablePrinter : public RowPrinter {
 public:
  explicit TablePrinter(int fd) : fd_(fd) {}
  Status columns(const std::vector<std::string>& names) override {
    header_ = names;
    return {};
  }
  Status row(const std::vector<std::string_view>& values) override {
    std::vector<std::string> cells;
    cells.reserve(values.size());
    for (std::string_view v : values) cells.push_back(value_text(v, "NULL"));
    rows_.push_back(std::move(cells));
    return {};
  }
  Status finish() override {
    std::vector<size_t> width(header_.size());
    auto measure = [&](const std::vector<std::string>& cells) {
      for (size_t i = 0; i < cells.size() && i < width.size(); ++i)
        width[i] = std::max(width[i], cells[i].size());
    };
    measure(header_);
    for (const auto& r : rows_) measure(r);
    std::string out = format_line(header_, width);
    for (size_t i = 0; i < width.size(); ++i) out += (i ? "-+-" : "") + std::string(width[i], '-');
    out += '\n';
    for (const auto& r : rows_) out += format_line(r, width);
    out += fmt::format("({} row{})\n", rows_.size(), rows_.size() == 1 ? "" : "s");
    return stream::write_all(fd_, out);
  }

 private:
  static std::string format_line(const std::vector<std::string>& cells,
                                 const std::vector<size_t>& width) {
    std::string out;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i)
      out += fmt::format("{}{:<{}}", i ? " | " : "", cells[i], width[i]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  }
  int fd_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace

Result<std::unique_ptr<RowPrinter>> RowPrinter::create(std::string_view format, int fd) {
  if (format == "json" || format == "jsonl")
    return std::unique_ptr<RowPrinter>(new RecordPrinter(fd, stream::Format::kJson));
  if (format == "msgpack")
    return std::unique_ptr<RowPrinter>(new RecordPrinter(fd, stream::Format::kMsgpack));
  if (format == "csv") return std::unique_ptr<RowPrinter>(new TextPrinter(fd, true));
  if (format == "tsv") return std::unique_ptr<RowPrinter>(new TextPrinter(fd, false));
  if (format == "table") return std::unique_ptr<RowPrinter>(new TablePrinter(fd));
  return Status::Invalid(
      fmt::format("unknown format '{}' (json, msgpack, csv, tsv, table)", format));
}

Status print_rows(std::string_view response, RowPrinter& out, long long& count) {
  auto view = mp::MapView::parse(response);
  if (!view.ok()) return view.status();
  std::vector<std::string_view> cols, rows, values;
  if (!view->has("rows")) return {};
  if (!mp::decode_array(view->raw("columns"), cols) || !mp::decode_array(view->raw("rows"), rows))
    return Status::Invalid("the server sent malformed rows");
  std::vector<std::string> names;
  for (std::string_view c : cols) {
    std::string_view s;
    names.emplace_back(mp::decode_str(c, s) ? s : "?");
  }
  W_RETURN_IF_ERROR(out.columns(names));
  for (std::string_view r : rows) {
    if (!mp::decode_array(r, values)) return Status::Invalid("the server sent a malformed row");
    W_RETURN_IF_ERROR(out.row(values));
    ++count;
  }
  return {};
}

}  // namespace w::sql
