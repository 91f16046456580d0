// Members of coupled tasks on different wrun processes talk through wsig's
// relay (man/wsig.1 "Relay").
//
// RelayLink is one wsig peer: a WebSocket to {path}peerjs?key=K&id=ID&token=T
// with one circuit per peer it talks to. Each circuit carries a byte stream
// of messages (u32 little-endian length | bytes), cut into frames that fit
// the circuit's credit window; every frame received is acknowledged at once
// (the worker buffers what the kernel has not read yet). A circuit to a peer
// that is not connected yet (RELAY-CLOSE "Peer is not connected") is opened
// again every retry interval, its messages kept, in order, until then. A
// circuit that closes after it was open means the peer went away: unless the
// peer said it had finished (a message of its own, see RelayRouter), the
// peer is reported lost.
//
// RelayRouter is the executor's sandbox::Remote in pool mode: it holds one link per
// local member of a group run that has members elsewhere, with the peer id
// `<group>-r<rank>`, and hands what arrives to the executor. Given direct
// links (direct.h), each member announces its worker's address over the
// relay to the higher ranks elsewhere, which dial it; once a link is up, a
// member's messages to that rank wait until the relay has delivered all it
// sent there (acknowledged), then go over the link: two routes, one order.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "direct.h"
#include "w/executor.h"
#include "w/net_client.h"
#include "w/status.h"

namespace w::worker {

class RelayLink {
 public:
  /// What pump() found: a message from `peer`, or (lost) its circuit closed.
  struct Event {
    std::string peer;
    bool lost = false;
    std::string reason;  ///< lost: why, in words
    std::string data;
  };

  /// Connects to wsig at `sig_url` (ws://HOST:PORT/PATH, with ?key=K if the
  /// key is not "peerjs") as peer `id`.
  static Result<std::unique_ptr<RelayLink>> connect(const std::string& sig_url,
                                                    const std::string& id);
  ~RelayLink();

  const std::string& id() const { return id_; }
  /// Queues one message for peer `dst`, opening the circuit if needed.
  Status send(const std::string& dst, const std::string& message);
  /// Reads what arrived, sends what the windows allow, retries opens that
  /// are due. Errors when the connection to wsig is gone.
  Status pump(std::vector<Event>& events);
  /// Readable when something arrived.
  int notify_fd() const { return client_->notify_fd(); }
  /// Milliseconds until the next retry is due; -1: none is waiting.
  int wait_ms() const;
  /// Everything queued has been sent and acknowledged.
  bool flushed() const { return backlog() == 0; }
  /// Bytes queued or sent and not yet acknowledged, on all circuits / to `dst`.
  size_t backlog() const;
  size_t backlog(const std::string& dst) const;
  /// Peers with an open circuit.
  std::vector<std::string> open_peers() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Circuit {
    bool open = false;
    bool opening = false;
    bool was_open = false;
    Clock::time_point retry_at{};
    size_t window = 0;
    size_t in_flight = 0;
    std::string out;    // stream bytes, sent from out_at on
    size_t out_at = 0;  // a read offset: erasing each sent frame's bytes
                        // from the front made a long stream quadratic
    size_t pending() const { return out.size() - out_at; }
    std::string in;  // stream bytes received, not yet a whole message
  };
  RelayLink(std::string id, std::unique_ptr<net::Client> client)
      : id_(std::move(id)), client_(std::move(client)) {}
  Status send_json(const std::string& type, const std::string& dst, const std::string& extra = {});
  Status push(const std::string& dst, Circuit& c);
  Status on_text(const std::string& text, std::vector<Event>& events);
  Status on_data(std::string_view frame, std::vector<Event>& events);

  std::string id_;
  std::unique_ptr<net::Client> client_;
  std::map<std::string, Circuit> circuits_;
  Clock::time_point last_sent_ = Clock::now();
};

class RelayRouter : public sandbox::Remote {
 public:
  RelayRouter(std::string sig_url, sandbox::Executor& executor)
      : sig_(std::move(sig_url)), executor_(executor) {}
  ~RelayRouter() override;

  void member_added(const std::string& group, int rank, int size) override;
  void member_ended(const std::string& group, int rank, bool failed) override;
  void send(const std::string& group, int from, int to, std::string body) override;
  size_t backlog(const std::string& group, int from) const override;
  int take_writer(const std::string& group, int from, int to) override;
  int take_reader(const std::string& group, int to, int from) override;
  void link_note(const std::string& group, int rank, int peer, bool finished) override;
  void broken(const std::string& group) override;

  /// Connects the links the members added since the last call need (one per
  /// local member of a run with members elsewhere). Call after a batch of
  /// members was submitted, before they run.
  Status connect_pending();
  /// Pumps every link: hands messages to the executor, reports lost peers,
  /// closes the links of ended members once flushed. Link errors are warnings.
  void pump();
  /// The links' notify fds, for poll().
  std::vector<int> fds() const;
  int wait_ms() const;
  /// Drops everything of `group` (it was aborted).
  void abort(const std::string& group);

  /// Direct links between members on different workers; without them
  /// everything goes through the relay.
  void set_direct(std::unique_ptr<DirectLinks> direct) { direct_ = std::move(direct); }
  DirectLinks* direct() const { return direct_.get(); }
  /// The run's secret for direct links (the task's `link`), kept with the member.
  void set_link_secret(const std::string& group, int rank, std::string secret);
  /// The secret if `rank` of `group` is a live member here, else "".
  std::string link_secret(const std::string& group, int rank) const;
  /// The poll entries of the links.
  void pollfds(std::vector<struct pollfd>& out) const;

  /// The peer id of a member: `<group>-r<rank>`.
  static std::string peer_id(const std::string& group, int rank);

 private:
  struct Key {
    std::string group;
    int rank;
    bool operator<(const Key& o) const {
      return group != o.group ? group < o.group : rank < o.rank;
    }
  };
  struct Path {                     // to one remote rank
    bool direct = false;            // messages go over the direct link now
    bool member_writes = false;     // the member writes them there itself
    bool dialed = false;            // we dialed it (or it cannot be)
    std::vector<std::string> held;  // waiting for the relay to drain before the switch
    size_t held_bytes = 0;
  };
  struct Member {
    int size = 0;
    std::string secret;  // the run's direct-link secret
    std::map<int, Path> paths;
    bool ended = false;
    std::chrono::steady_clock::time_point ended_at{};
    std::unique_ptr<RelayLink> link;
    std::vector<std::string> early;  // messages sent before the link was up
    std::vector<int> early_to;
    std::set<int> finished;  // remote ranks that said they finished
    int handed = 0;          // link sockets handed to the member (at most kMaxHanded)
  };
  void finish(const Key& key, Member& m, bool failed);
  /// Sends `body` from member `key` to `to` over the route its path takes now.
  void route(const Key& key, Member& m, int to, std::string body);
  void switch_if_drained(const Key& key, Member& m, int to, Path& p);
  void offer(const Key& key, Member& m);
  void pump_direct();
  /// What a remote rank's body says beyond messages for the kernel; true if taken.
  bool control(const Key& key, Member& m, int from, const std::string& body);

  std::string sig_;
  sandbox::Executor& executor_;
  std::map<Key, Member> members_;
  std::unique_ptr<DirectLinks> direct_;
};

}  // namespace w::worker
