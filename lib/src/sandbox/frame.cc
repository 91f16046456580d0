#include "frame.h"

#include <fmt/format.h>

namespace w::sandbox {

void append_frame(std::string& out, FrameType type, std::string_view a, std::string_view b) {
  const uint64_t n = a.size() + b.size();
  const char header[kFrameHeader] = {
      static_cast<char>(n & 0xff),
      static_cast<char>((n >> 8) & 0xff),
      static_cast<char>((n >> 16) & 0xff),
      static_cast<char>((n >> 24) & 0xff),
      static_cast<char>(type),
  };
  out.append(header, kFrameHeader);
  out.append(a);
  out.append(b);
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
