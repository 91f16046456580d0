// Direct links between members of a coupled run on different native workers
// (w-protocol(7) "Direct links").
//
// Each wrun that holds members listens on one TCP port of the address it
// reaches wsig from (or --link HOST), and its members announce that address
// to the other members through wsig's relay, like an ICE candidate. Of two
// members the higher rank dials the lower; one TCP connection carries both
// directions of that pair. Before a byte of a member's traffic crosses it,
// each end proves it knows the run's secret (the pool's `link` of the
// member's task, never sent over the link): the dialer sends its nonce, the
// acceptor answers with its own nonce and an HMAC-SHA256 over both, the
// dialer with its HMAC. Knowing the group id, which wsig sees, is not enough.
//
// On the link, a message is u32 little-endian length | body (the router's
// framing, group.h): written by writev straight from the queued bodies, and
// a large one read in place into its own buffer.
//
// When the pool runs with TLS, so do the links: after the proof, a TLS 1.3
// session keyed from the secret and both nonces carries every byte.
//
// Bounds before authentication: a dialer has 5 s to finish the handshake, at
// most 32 connections may be in it at once, and its first message is at most
// 4 + 1 + 64 + 8 + 16 bytes; a refused or failed handshake closes the
// connection and is counted.
//
// The interface keeps sockets out of the browser build, which shares the
// router (relay.cc) but has no direct links.
#pragma once

#include <poll.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "w/status.h"

namespace w::worker {

struct LinkEvent {
  enum Kind { kUp, kData, kDown };
  Kind kind = kData;
  std::string group;
  int local = 0;        ///< the member on this worker
  int remote = 0;       ///< the member at the other end
  std::string data;     ///< kData: one body
  std::string reason;   ///< kDown: why, in words
  bool was_up = false;  ///< kDown: the link had opened (else: a dial that failed)
  bool tls = false;     ///< kUp: the link runs TLS
};

class DirectLinks {
 public:
  /// The run's secret if `rank` of `group` is a live member here; "" if not.
  using SecretFn = std::function<std::string(const std::string& group, int rank)>;

  virtual ~DirectLinks() = default;
  /// HOST:PORT (IPv6 in brackets) the listener took: what members announce.
  virtual const std::string& address() const = 0;
  /// Opens the link from local member `local` to `remote` at `address`
  /// (numeric only: an announced address is never looked up).
  virtual void dial(const std::string& group, int local, int remote, const std::string& address,
                    const std::string& secret) = 0;
  virtual bool up(const std::string& group, int local, int remote) const = 0;
  /// Queues one body; false when that link is not up.
  virtual bool send(const std::string& group, int local, int remote, std::string body) = 0;
  /// Bytes of `local`'s bodies not yet written to the kernel.
  virtual size_t backlog(const std::string& group, int local) const = 0;
  /// Accepts, handshakes, reads and writes what the sockets allow.
  virtual void pump(std::vector<LinkEvent>& events) = 0;
  virtual void pollfds(std::vector<struct pollfd>& out) const = 0;
  /// Milliseconds until the next handshake deadline; -1: none.
  virtual int wait_ms() const = 0;
  /// Closes `local`'s links (its peers see them go down) / all of `group`'s.
  /// `graceful`: the member finished; what it sent is read to the end by its
  /// peers before they see the close (its links stop sending, read what
  /// still comes, for 2 s at most), where closing at once with unread bytes
  /// would reset the connection and could take its last words with it.
  virtual void close_member(const std::string& group, int local, bool graceful) = 0;
  virtual void close_group(const std::string& group) = 0;
  /// Handshakes refused or failed so far.
  virtual uint64_t refused() const = 0;

  /// The socket of `local`'s link to `remote`, handed to the member for its
  /// own writing / reading (executor.h, take_writer): ours, still owned and
  /// closed here; -1 when not possible now (not up, TLS, bytes of that
  /// direction queued or half read here, already handed).
  virtual int hand_writer(const std::string& group, int local, int remote) = 0;
  virtual int hand_reader(const std::string& group, int local, int remote) = 0;
  /// The member ended: its links are ours again to write on (its finish);
  /// what comes on them is read and dropped, since nobody reads it now.
  virtual void take_back(const std::string& group, int local) = 0;
  /// The run broke: the links its members took are shut down, which wakes
  /// them wherever they wait on one.
  virtual void shut_handed(const std::string& group) = 0;
};

/// Listens on HOST, port 0 (native builds only); `tls`: every link runs
/// TLS 1.3 keyed from the run's secret (link_tls.h), which both ends must.
Result<std::unique_ptr<DirectLinks>> listen_direct(const std::string& host,
                                                   DirectLinks::SecretFn secret, bool tls = false);

/// The local address this host reaches `url`'s host from (no packet is
/// sent), for --link auto.
Result<std::string> local_address_toward(const std::string& url);

}  // namespace w::worker
