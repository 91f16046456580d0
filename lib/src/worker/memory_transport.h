// An in-memory connection: two Transport ends, what one sends the other
// receives, in order; a close by either end closes both (after what was
// sent, as a WebSocket's close frame comes after its messages). It lets a
// Session talk to a pool played by a test in the same thread
// (test/unit/worker/session_test.cc), with no socket and no mock: every
// frame is the real bytes proto/ encodes.
//
// REQUIRES: one thread.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "session.h"

namespace w::worker {

class MemoryPipe {
 public:
  class End : public Transport {
   public:
    Status send(std::string_view frame) override {
      if (state_->closed) return Status::Io("memory pipe closed");
      peer_inbox().emplace_back(frame);
      return {};
    }
    void close() override { state_->closed = true; }
    /// The next frame the other end sent; false if none waits.
    bool receive(std::string& frame) {
      auto& in = inbox();
      if (in.empty()) return false;
      frame = std::move(in.front());
      in.pop_front();
      return true;
    }
    /// Closed by either end (frames sent before may still be read).
    bool closed() const { return state_->closed; }

   private:
    friend class MemoryPipe;
    struct State {
      std::deque<std::string> to[2];  // inboxes of end 0 and end 1
      bool closed = false;
    };
    std::deque<std::string>& inbox() { return state_->to[side_]; }
    std::deque<std::string>& peer_inbox() { return state_->to[1 - side_]; }
    std::shared_ptr<State> state_;
    int side_ = 0;
  };

  MemoryPipe() {
    auto state = std::make_shared<End::State>();
    a.state_ = b.state_ = state;
    a.side_ = 0;
    b.side_ = 1;
  }
  End a, b;  ///< the two ends
};

}  // namespace w::worker
