#include "frame.h"

#include <fmt/format.h>

namespace w::sandbox {
namespace {
void put_u32(char* p, uint64_t n) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((n >> (8 * i)) & 0xff);
}
}  // namespace

void put_frame_header(char (&header)[kFrameHeader], FrameType type, size_t payload_size) {
  put_u32(header, payload_size);
  header[4] = static_cast<char>(type);
}

void append_frame(std::string& out, FrameType type, std::string_view a, std::string_view b) {
  char header[kFrameHeader];
  put_frame_header(header, type, a.size() + b.size());
  out.append(header, kFrameHeader);
  out.append(a);
  out.append(b);
}

void append_task_frame(std::string& out, std::string_view input, std::string_view restore) {
  if (restore.empty()) return append_frame(out, kFrameTask, input);
  char header[kFrameHeader + 4];
  put_u32(header, 4 + input.size() + restore.size());
  header[4] = static_cast<char>(kFrameTaskRestore);
  put_u32(header + kFrameHeader, input.size());
  out.append(header, sizeof header);
  out.append(input);
  out.append(restore);
}

bool split_task_restore(std::string_view payload, std::string_view& input,
                        std::string_view& restore) {
  if (payload.size() < 4) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
  const size_t n = static_cast<size_t>(p[0]) | static_cast<size_t>(p[1]) << 8 |
                   static_cast<size_t>(p[2]) << 16 | static_cast<size_t>(p[3]) << 24;
  if (n > payload.size() - 4) return false;
  input = payload.substr(4, n);
  restore = payload.substr(4 + n);
  return true;
}

void put_i32(std::string& out, int32_t v) {
  char b[4];
  put_u32(b, static_cast<uint32_t>(v));
  out.append(b, 4);
}

int32_t get_i32(std::string_view bytes, size_t at) {
  if (bytes.size() < at + 4) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data() + at);
  return static_cast<int32_t>(static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                              static_cast<uint32_t>(p[2]) << 16 |
                              static_cast<uint32_t>(p[3]) << 24);
}

void append_member_frame(std::string& out, int rank, int size, std::string_view input,
                         std::string_view restore) {
  char header[kFrameHeader];
  put_frame_header(header, kFrameMember, 12 + input.size() + restore.size());
  out.append(header, kFrameHeader);
  put_i32(out, rank);
  put_i32(out, size);
  put_i32(out, static_cast<int32_t>(input.size()));
  out.append(input);
  out.append(restore);
}

bool split_member(std::string_view payload, int& rank, int& size, std::string_view& input,
                  std::string_view& restore) {
  if (payload.size() < 12) return false;
  rank = get_i32(payload, 0);
  size = get_i32(payload, 4);
  const auto n = static_cast<uint32_t>(get_i32(payload, 8));
  if (n > payload.size() - 12 || size < 2 || rank < 0 || rank >= size) return false;
  input = payload.substr(12, n);
  restore = payload.substr(12 + n);
  return true;
}

bool FrameReader::peek(uint8_t& type, size_t& size) const {
  if (buf_.size() - start_ < kFrameHeader) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + start_);
  size = static_cast<size_t>(p[0]) | static_cast<size_t>(p[1]) << 8 |
         static_cast<size_t>(p[2]) << 16 | static_cast<size_t>(p[3]) << 24;
  type = p[4];
  return true;
}

Result<bool> FrameReader::next(Frame& frame) {
  const size_t avail = buf_.size() - start_;
  if (avail < kFrameHeader) {
    if (start_ > 0 && avail == 0) {
      buf_.clear();
      start_ = 0;
    }
    return false;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + start_);
  const size_t n = static_cast<size_t>(p[0]) | static_cast<size_t>(p[1]) << 8 |
                   static_cast<size_t>(p[2]) << 16 | static_cast<size_t>(p[3]) << 24;
  if (n > max_payload_)
    return Status::Invalid(
        fmt::format("frame of {} bytes exceeds the {} byte limit", n, max_payload_));
  if (avail < kFrameHeader + n) return false;
  frame.type = p[4];
  frame.payload.assign(buf_.data() + start_ + kFrameHeader, n);
  start_ += kFrameHeader + n;
  if (start_ == buf_.size()) {
    buf_.clear();
    start_ = 0;
  } else if (start_ > (1u << 20)) {
    buf_.erase(0, start_);
    start_ = 0;
  }
  return true;
}

}  // namespace w::sandbox
