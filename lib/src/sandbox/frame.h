// Length-prefixed frames between a worker and its slot processes.
//
//   frame = u32 length (little endian, of payload) | u8 type | payload
//
// Both ends are ours and share the machine, so the layout is fixed and
// unversioned; the reader still caps a frame's size so a confused or hostile
// kernel process cannot make the worker allocate without bound.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "w/status.h"

namespace w::sandbox {

enum FrameType : uint8_t {
  // worker -> slot
  kFrameTask = 1,         ///< payload: one dataset (msgpack map)
  kFrameTaskRestore = 2,  ///< payload: u32 dataset length | dataset | restore state
  kFrameMember = 3,       ///< payload: i32 rank | i32 size | u32 dataset length | dataset | restore
  kFrameSendDone = 4,     ///< payload: i32 result of the member's w_send (0 or W_E*)
  kFrameRecvDone = 5,     ///< payload: i32 result (0: a message follows, or W_E*) | message
  kFrameBarrierDone = 6,  ///< payload: i32 result of the member's w_barrier
  // slot -> worker
  kFrameReady = 10,       ///< the kernel is loaded and w_init succeeded
  kFrameInitFailed = 11,  ///< payload: why loading or w_init failed
  kFrameResult = 12,      ///< payload: f64 ms | output msgpack (may be empty)
  kFrameTaskError = 13,   ///< payload: f64 ms | message
  kFrameForbidden = 14,   ///< payload: u32 system call number (seccomp trap)
  kFrameCheckpoint = 15,  ///< payload: the running task's state (w_checkpoint)
  // slot -> worker, from a member of a coupled task; each waits for its *Done
  kFrameSend = 16,     ///< payload: u32 destination rank | message
  kFrameRecv = 17,     ///< payload: u32 source rank | i32 timeout in ms (< 0: none)
  kFrameBarrier = 18,  ///< payload: i32 timeout in ms (< 0: none)
  /// What a member read on a direct link it was handed that is for the
  /// worker, not for it (no answer): i32 rank | u8 what (kLinkNote*).
  kFrameLinkNote = 19,
};

/// The result of a kFrameSendDone or kFrameRecvDone that hands the member
/// the socket of its direct link to that rank (SCM_RIGHTS, with the frame):
/// from now on it writes its messages to that rank (send) or reads that
/// rank's (recv) there itself; the call is not done, the member does it.
constexpr int32_t kHandover = -100;

/// kFrameLinkNote's `what`: a barrier token from the rank, the rank said it
/// finished, or the link ended without that (the rank was lost).
enum LinkNote : uint8_t { kLinkNoteLost = 0, kLinkNoteBarrier = 2, kLinkNoteFinished = 3 };

constexpr size_t kFrameHeader = 5;

/// Writes the header of a frame with `payload_size` bytes of payload.
void put_frame_header(char (&header)[kFrameHeader], FrameType type, size_t payload_size);

/// Appends one frame whose payload is `a` followed by `b`.
void append_frame(std::string& out, FrameType type, std::string_view a, std::string_view b = {});

/// Appends a task frame: kFrameTask, or kFrameTaskRestore when `restore`
/// (the task's last checkpoint) is not empty.
void append_task_frame(std::string& out, std::string_view input, std::string_view restore);

/// Appends a kFrameMember frame: a task run as member `rank` of a group of `size`.
void append_member_frame(std::string& out, int rank, int size, std::string_view input,
                         std::string_view restore);

/// Splits a kFrameMember payload; false if it is malformed.
bool split_member(std::string_view payload, int& rank, int& size, std::string_view& input,
                  std::string_view& restore);

/// A little-endian 32-bit field, as the frames carry them.
void put_i32(std::string& out, int32_t v);
int32_t get_i32(std::string_view bytes, size_t at = 0);

/// Splits a kFrameTaskRestore payload; false if it is too short.
bool split_task_restore(std::string_view payload, std::string_view& input,
                        std::string_view& restore);

struct Frame {
  uint8_t type = 0;
  std::string payload;
};

/// Splits a byte stream into frames. Feed bytes with append(), then call
/// next() until it returns false.
class FrameReader {
 public:
  explicit FrameReader(size_t max_payload) : max_payload_(max_payload) {}
  void append(const char* data, size_t n) { buf_.append(data, n); }
  /// True and `frame` filled if a whole frame is buffered; an error if a
  /// frame announces more than max_payload bytes.
  Result<bool> next(Frame& frame);
  /// True and the next frame's type and payload size if its header is
  /// buffered (its payload may not be).
  bool peek(uint8_t& type, size_t& size) const;
  bool empty() const { return start_ == buf_.size(); }

 private:
  size_t max_payload_;
  std::string buf_;
  size_t start_ = 0;
};

}  // namespace w::sandbox
