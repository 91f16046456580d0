// A direct link's connection (direct.cc's TcpLinks) and its writer.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "link_tls.h"
#include "link_wire.h"

namespace w::worker {

struct Out {
  char head[4];
  size_t head_size = 0;  // 0: raw handshake bytes in body
  std::string body;
  size_t done = 0;     // bytes of head + body written
  size_t counted = 0;  // of the backlog, gone once it is written
  size_t size() const { return head_size + body.size(); }
};

struct Conn {
  enum State { kConnecting, kDialerWait, kAcceptorHello, kAcceptorMac, kTls, kUp };
  int fd = -1;
  State state = kConnecting;
  bool dialer = false;
  std::string group;
  int local = -1, remote = -1;
  std::string secret;
  unsigned char nonce_d[link::kNonce]{}, nonce_a[link::kNonce]{};
  std::chrono::steady_clock::time_point deadline;
  std::string in;     // received bytes are in[0, in_len): the buffer is kept, not
  size_t in_len = 0;  // cleared, so a read does not pay for zeroing it
  std::string big;    // a large body, read in place
  size_t big_have = 0;
  bool reading_big = false;
  std::deque<Out> out;
  size_t out_bytes = 0;  // of bodies (the backlog); handshake bytes not counted
  bool dead = false;
  bool closing = false;  // its member finished: shut down for writing, reading to the end
  std::string why;
  std::string peer;              // acceptor: the dialer's address
  char mode = '1';               // '1' plain, 'T' TLS (either end's pool runs TLS)
  std::unique_ptr<LinkTls> tls;  // when the pool runs with TLS
  // Handed to the member (DirectLinks::hand_writer/hand_reader): we stay off
  // that direction; `got_data`: a body came, so the peer's relay is drained.
  bool member_writes = false, member_reads = false, got_data = false;
  bool discard = false;  // taken back from a member: what comes is dropped
};

/// Writes what c.out holds as far as the socket takes it (writev straight
/// from the queued bodies); false when the connection died (c.dead, c.why).
bool write_some(Conn& c);

}  // namespace w::worker
