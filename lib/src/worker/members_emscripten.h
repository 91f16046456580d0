// The browser worker's members of coupled tasks (w-protocol(7) "Coupled
// campaigns"): wrun.wasm's counterpart of the executor's group machinery.
//
// One Web Worker is one slot, so it runs one member at a time; the member's
// kernel runs in an inner Web Worker (www/kernel_worker.js) and its w_send,
// w_recv and w_barrier come here as calls that the same router as native
// wrun (sandbox::Groups, group.h) answers. Every other member of its run is remote:
// messages travel through wsig's relay on a RelayLink (relay.h) with the
// peer id `<group>-r<rank>` and the same framing as a native worker, so
// browser and native members of one run talk to each other.
//
// Two browser members (the tasks item's `browsers`) also try a WebRTC
// DataChannel, which only the page's thread can open: wrun.wasm asks it
// (www/datachannel.js, by way of worker.js) for a channel to each other
// browser rank, and the page does the offer, answer and ICE candidates
// through wsig and bridges the channel's bytes over a MessagePort. The
// transport of each direction of a pair is chosen before its first message
// and never changed, so messages arrive in order: the channel if it opens
// within kChannelWaitMs, else the relay (messages sent meanwhile wait, then
// go the chosen way). A receiver takes traffic from both. An open channel
// that closes before its peer said it finished means the peer is lost.
//
// REQUIRES: everything runs on the Web Worker's one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "../sandbox/group.h"
#include "relay.h"

namespace w::worker {

class BrowserMembers : public sandbox::Remote {
 public:
  /// A member ended (its Outcome carries its rank and group).
  using ResultFn = std::function<void(sandbox::Outcome)>;
  explicit BrowserMembers(ResultFn on_result);
  ~BrowserMembers() override;

  /// wsig's URL (the welcome's `sig`); empty: members cannot reach the others.
  void set_sig(std::string sig) { sig_ = std::move(sig); }
  /// The campaign's timeout per task (0: none): a member running longer is
  /// stopped (its inner worker replaced) and fails with "timeout: ...".
  void set_timeout(int64_t ms) { timeout_ms_ = ms; }
  /// Members start only while the campaign's kernel is ready; a kernel that
  /// cannot load (`why`) fails the members waiting for it.
  void set_kernel(bool ready, const std::string& why = {});

  /// A member from a `tasks` item; it starts once the one before it ended.
  /// `browsers`: the other ranks of the run on browsers (DataChannel peers).
  void submit(int64_t id, std::string group, int rank, int size, std::string input,
              std::set<int> browsers = {});
  /// The ids of the members not finished here (a `bye`'s `returned`).
  std::vector<int64_t> held() const;
  /// `abort`: stops that run's member here, with no result.
  void abort(const std::string& group);
  /// The pool connection is gone: everything is dropped (the pool re-queues).
  void clear();
  bool busy() const { return running_ || !waiting_.empty(); }

  /// From the inner worker: a call of the running member's hooks
  /// (sandbox::Call as int), and its end.
  void on_call(int call, int peer, std::string bytes, int timeout_ms);
  void on_done(bool ok, std::string bytes, double ms);

  /// From the page: local member `rank`'s DataChannel to `peer` opened,
  /// carried stream bytes, or closed (or could not be made: `why`).
  void on_channel_open(const std::string& group, int rank, int peer);
  void on_channel_data(const std::string& group, int rank, int peer, std::string_view bytes);
  void on_channel_closed(const std::string& group, int rank, int peer, const std::string& why);
  /// The page moved `n` of the channel's bytes into the DataChannel.
  void on_channel_sent(const std::string& group, int rank, int peer, size_t n);

  /// Reads the relay links, expires timed-out calls, retries opens; call
  /// on every WebSocket event and from a timer.
  void pump();

  // sandbox::Remote
  void member_added(const std::string& group, int rank, int size) override;
  void member_ended(const std::string& group, int rank, bool failed) override;
  void send(const std::string& group, int from, int to, std::string body) override;
  size_t backlog(const std::string& group, int from) const override;

 private:
  struct Member {
    int64_t id = 0;
    std::string group;
    int rank = 0, size = 0;
    std::string input;
  };
  struct Link {
    std::unique_ptr<RelayLink> link;
    bool ended = false;
    double ended_at = 0;
    std::set<int> finished;  // remote ranks that said they finished
  };
  // One local member's DataChannel to a browser peer (see above).
  struct Channel {
    enum Route { kUndecided, kChannel, kRelay } route = kUndecided;
    bool open = false, closed = false;
    bool peer_finished = false;
    double asked_at = 0;
    std::vector<std::string> queued;  // bodies sent while undecided
    size_t unsent = 0;                // handed to the page, not yet in the channel
    std::string in;                   // stream bytes, not yet a whole body
  };
  using ChannelKey = std::tuple<std::string, int, int>;  // group, local rank, peer
  void decide(const ChannelKey& key, Channel& c, Channel::Route route);
  void channel_send(const ChannelKey& key, const std::string& body);
  void relay_send(const std::string& group, int from, int to, std::string body);
  void close_channel(const ChannelKey& key, Channel& c);
  /// Closes and drops the channels of local member (group, rank).
  void drop_channels(const std::string& group, int rank);
  void start_next();
  void finish(bool ok, const std::string& bytes, double ms);
  void schedule_tick();
  static void tick(void* self);

  ResultFn on_result_;
  std::string sig_;
  sandbox::Groups groups_;
  std::deque<Member> waiting_;
  bool running_ = false, ready_ = false;
  Member current_;
  double started_ = 0;  // when current_ was started
  int64_t timeout_ms_ = 0;
  std::map<std::pair<std::string, int>, Link> links_;  // by (group, local rank)
  std::map<std::string, std::set<int>> browsers_;      // group -> browser ranks
  std::map<ChannelKey, Channel> channels_;
  long timer_ = 0;
};

}  // namespace w::worker
