#include "relay.h"

#include <algorithm>
#include <charconv>
#include <random>

#include <fmt/format.h>

#include "../sandbox/group.h"
#include "w/diag.h"
#include "w/msgpack.h"
#include "w/net.h"

namespace w::worker {
namespace {

constexpr size_t kFrameMax = 64u << 10;  // data bytes per relay frame
constexpr int kRetryMs = 100;            // between opens of a circuit to an absent peer
constexpr auto kHeartbeat = std::chrono::seconds(20);
constexpr auto kLinger = std::chrono::seconds(60);  // an ended member's link waits this long
                                                    // at most for its messages to be read

std::string random_token() {
  static std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}", rng());
}

void put_u32(std::string& out, size_t n) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
}

size_t get_u32(std::string_view b) {
  const auto* p = reinterpret_cast<const uint8_t*>(b.data());
  return static_cast<size_t>(p[0]) | static_cast<size_t>(p[1]) << 8 |
         static_cast<size_t>(p[2]) << 16 | static_cast<size_t>(p[3]) << 24;
}

}  // namespace

Result<std::unique_ptr<RelayLink>> RelayLink::connect(const std::string& sig_url,
                                                      const std::string& id) {
  std::string base = sig_url, key = "peerjs";
  if (size_t q = base.find('?'); q != std::string::npos) {
    std::string query = base.substr(q + 1);
    base.erase(q);
    for (size_t at = 0; at < query.size();) {
      size_t amp = query.find('&', at);
      std::string kv = query.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
      if (kv.rfind("key=", 0) == 0) key = kv.substr(4);
      if (amp == std::string::npos) break;
      at = amp + 1;
    }
  }
  if (base.empty() || base.back() != '/') base += '/';
  const std::string url =
      fmt::format("{}peerjs?key={}&id={}&token={}", base, key, id, random_token());
  net::ClientOptions co;
  co.connect_timeout = 10;
  co.protocol = std::string(net::kRelayProtocol);  // wsig's large receive buffer
  auto c = net::Client::connect(url, co);
  // wsig answered the upgrade with a refusal (503: all its relay buffers in
  // use, --relay-links) or predates the subprotocol: a plain peer
  // connection carries the same messages, slower. Not after a timeout, a
  // TLS or name failure: a second try would only fail the same way, later.
  const Code code = c.ok() ? Code::kOk : c.status().code();
  if (code == Code::kIo || code == Code::kUnavailable) {
    diag::info("relay peer {}: {}; connecting without the {} subprotocol", id, c.status().message(),
               net::kRelayProtocol);
    co.protocol.clear();
    c = net::Client::connect(url, co);
  }
  if (!c.ok()) return c.status().with_context(fmt::format("relay peer {} at {}", id, sig_url));
  return std::unique_ptr<RelayLink>(new RelayLink(id, std::move(*c)));
}

RelayLink::~RelayLink() {
  if (client_) client_->close();
}

Status RelayLink::send_json(const std::string& type, const std::string& dst,
                            const std::string& extra) {
  last_sent_ = Clock::now();
  return client_->send(fmt::format("{{\"type\":\"{}\",\"dst\":\"{}\"{}}}", type, dst, extra),
                       false);
}

Status RelayLink::send(const std::string& dst, const std::string& message) {
  Circuit& c = circuits_[dst];
  put_u32(c.out, message.size());
  c.out += message;
  if (!c.open && !c.opening && Clock::now() >= c.retry_at) {
    c.opening = true;
    W_RETURN_IF_ERROR(send_json("RELAY-OPEN", dst));
  }
  return push(dst, c);
}

Status RelayLink::push(const std::string& dst, Circuit& c) {
  while (c.open && c.pending() > 0 && c.in_flight < c.window) {
    const size_t n = std::min({c.pending(), c.window - c.in_flight, kFrameMax});
    std::string frame;
    frame.reserve(2 + dst.size() + n);
    frame += '\0';
    frame += static_cast<char>(dst.size());
    frame += dst;
    frame.append(c.out, c.out_at, n);
    c.out_at += n;
    if (c.pending() == 0) {
      c.out.clear();
      c.out_at = 0;
    } else if (c.out_at > (1u << 20) && c.out_at > c.pending()) {
      c.out.erase(0, c.out_at);  // compact now and then: amortised O(1) per byte
      c.out_at = 0;
    }
    c.in_flight += n;
    last_sent_ = Clock::now();
    W_RETURN_IF_ERROR(client_->send(std::move(frame), true));
  }
  return {};
}

Status RelayLink::on_data(std::string_view frame, std::vector<Event>& events) {
  if (frame.size() < 2) return {};
  const size_t n = static_cast<uint8_t>(frame[1]);
  if (frame.size() < 2 + n) return {};
  const std::string src(frame.substr(2, n));
  const std::string_view body = frame.substr(2 + n);
  Circuit& c = circuits_[src];
  c.in.append(body);
  W_RETURN_IF_ERROR(send_json("RELAY-ACK", src, fmt::format(",\"bytes\":{}", body.size())));
  size_t at = 0;
  while (c.in.size() - at >= 4) {
    const size_t len = get_u32(std::string_view(c.in).substr(at));
    if (c.in.size() - at - 4 < len) break;
    events.push_back({src, false, {}, c.in.substr(at + 4, len)});
    at += 4 + len;
  }
  c.in.erase(0, at);
  return {};
}

Status RelayLink::on_text(const std::string& text, std::vector<Event>& events) {
  std::string packed;
  if (!mp::from_json(text, packed).ok()) return {};
  auto m = mp::MapView::parse(packed);
  if (!m.ok()) return {};
  // wsig's messages: a field of another type counts as absent.
  const std::string type = m->string("type", "").value_or("");
  const std::string src = m->string("src", "").value_or("");
  if (type == "ERROR" || type == "ID-TAKEN") {
    std::string why = type;
    if (auto p = mp::MapView::parse(m->raw("payload")); p.ok())
      why = p->string("msg", type).value_or(type);
    return Status(Code::kIo, fmt::format("wsig refused relay peer {}: {}", id_, why));
  }
  if (src.empty()) return {};
  if (type == "RELAY-OPEN") {
    Circuit& c = circuits_[src];
    c.open = c.was_open = true;
    c.opening = false;
    c.window = static_cast<size_t>(
        std::max<int64_t>(1, m->integer("window", 256 << 10).value_or(256 << 10)));
    return push(src, c);
  }
  if (type == "RELAY-ACK") {
    auto it = circuits_.find(src);
    if (it == circuits_.end()) return {};
    const auto n = static_cast<size_t>(std::max<int64_t>(0, m->integer("bytes", 0).value_or(0)));
    it->second.in_flight -= std::min(it->second.in_flight, n);
    return push(src, it->second);
  }
  if (type == "RELAY-CLOSE") {
    auto it = circuits_.find(src);
    if (it == circuits_.end()) return {};
    Circuit& c = it->second;
    std::string why = "closed";
    if (auto p = mp::MapView::parse(m->raw("payload")); p.ok())
      why = p->string("msg", why).value_or(why);
    if (!c.open && why == "Peer is not connected") {
      c.opening = false;  // not there yet: open again soon
      c.retry_at = Clock::now() + std::chrono::milliseconds(kRetryMs);
      return {};
    }
    const bool was_open = c.open;
    c.open = c.opening = false;
    c.in_flight = 0;
    if (was_open) events.push_back({src, true, why, {}});
    return {};
  }
  return {};
}

Status RelayLink::pump(std::vector<Event>& events) {
  net::Message msg;
  while (client_->try_receive(msg)) {
    if (msg.binary && !msg.data.empty() && msg.data[0] == '\0') {
      W_RETURN_IF_ERROR(on_data(msg.data, events));
    } else {
      W_RETURN_IF_ERROR(on_text(msg.data, events));
    }
  }
  if (client_->closed())
    return Status(Code::kIo, fmt::format("relay peer {}: wsig connection closed: {}", id_,
                                         client_->close_reason()));
  const auto now = Clock::now();
  for (auto& [dst, c] : circuits_) {
    if (c.open || c.opening || c.pending() == 0 || now < c.retry_at) continue;
    c.opening = true;
    W_RETURN_IF_ERROR(send_json("RELAY-OPEN", dst));
  }
  if (now - last_sent_ > kHeartbeat) {
    last_sent_ = now;
    W_RETURN_IF_ERROR(client_->send("{\"type\":\"HEARTBEAT\"}", false));
  }
  return {};
}

int RelayLink::wait_ms() const {
  int best = -1;
  const auto now = Clock::now();
  for (const auto& [dst, c] : circuits_) {
    if (c.open || c.opening || c.pending() == 0) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.retry_at - now).count() + 1;
    int ms = static_cast<int>(std::max<long long>(0, left));
    if (best < 0 || ms < best) best = ms;
  }
  auto hb =  // + 1: floored to 0 ms, the last millisecond would be a busy loop
      std::chrono::duration_cast<std::chrono::milliseconds>(last_sent_ + kHeartbeat - now).count() +
      1;
  int hb_ms = static_cast<int>(std::max<long long>(0, hb));
  return best < 0 ? hb_ms : std::min(best, hb_ms);
}

size_t RelayLink::backlog() const {
  size_t n = 0;
  for (const auto& [dst, c] : circuits_) n += c.pending() + c.in_flight;
  return n;
}

std::vector<std::string> RelayLink::open_peers() const {
  std::vector<std::string> out;
  for (const auto& [dst, c] : circuits_)
    if (c.open) out.push_back(dst);
  return out;
}

size_t RelayLink::backlog(const std::string& dst) const {
  auto it = circuits_.find(dst);
  return it == circuits_.end() ? 0 : it->second.pending() + it->second.in_flight;
}

// ---------------------------------------------------------------------------

namespace {

// The rank of peer id "<group>-r<rank>" of `group`; -1 if it is not one.
// (atoi read a peer id the relay handed us that is no rank as rank 0, and
// blamed member 0 for its loss.)
int rank_of(const std::string& group, const std::string& peer) {
  const size_t dash = peer.rfind("-r");
  if (dash == std::string::npos || dash != group.size() || peer.compare(0, dash, group) != 0)
    return -1;
  int rank = -1;
  const char* digits = peer.data() + dash + 2;
  const char* end = peer.data() + peer.size();
  auto [stop, err] = std::from_chars(digits, end, rank);
  return err != std::errc() || stop != end || digits == end || rank < 0 ? -1 : rank;
}

// The sender's rank in a body (group.h's framing); -1 if it has none.
int body_from(const std::string& body) {
  if (body.size() < 5) return -1;
  const auto r = static_cast<int64_t>(get_u32(std::string_view(body).substr(1)));
  return r > INT32_MAX ? -1 : static_cast<int>(r);
}

constexpr size_t kMaxAddress = 64;  // an announced HOST:PORT
// Sockets a member may hold: the sandbox lets it use descriptors below 64.
constexpr int kMaxHanded = 48;

}  // namespace

std::string RelayRouter::peer_id(const std::string& group, int rank) {
  return fmt::format("{}-r{}", group, rank);
}

RelayRouter::~RelayRouter() = default;

void RelayRouter::member_added(const std::string& group, int rank, int size) {
  Member& m = members_[{group, rank}];
  m.size = size;
}

void RelayRouter::set_link_secret(const std::string& group, int rank, std::string secret) {
  if (auto it = members_.find({group, rank}); it != members_.end())
    it->second.secret = std::move(secret);
}

std::string RelayRouter::link_secret(const std::string& group, int rank) const {
  auto it = members_.find({group, rank});
  return it == members_.end() || it->second.ended ? std::string() : it->second.secret;
}

void RelayRouter::finish(const Key& key, Member& m, bool failed) {
  m.ended = true;
  m.ended_at = std::chrono::steady_clock::now();
  if (failed) {
    m.link.reset();  // the others see the circuits and links close: this member is lost
    if (direct_) direct_->close_member(key.group, key.rank, false);
    return;
  }
  // Tell every peer it talked to that it is done, so the circuits and links
  // closing later are not taken for a loss: on the route its messages took
  // (the links the member wrote on are ours again for that).
  const std::string done = sandbox::make_body(sandbox::kBodyFinished, key.rank, {});
  std::set<int> told;
  if (direct_) direct_->take_back(key.group, key.rank);
  for (auto& [rank, p] : m.paths) {
    p.member_writes = false;
    if (direct_ && direct_->up(key.group, key.rank, rank)) {
      route(key, m, rank, done);
      told.insert(rank);
    }
  }
  if (!m.link) return;
  for (const std::string& peer : m.link->open_peers()) {
    if (told.count(rank_of(key.group, peer))) continue;
    Status s = m.link->send(peer, done);
    if (!s.ok()) diag::warning("{}", s.message());
  }
}

void RelayRouter::member_ended(const std::string& group, int rank, bool failed) {
  auto it = members_.find({group, rank});
  if (it == members_.end()) return;
  finish(it->first, it->second, failed);
}

void RelayRouter::send(const std::string& group, int from, int to, std::string body) {
  auto it = members_.find({group, from});
  if (it == members_.end()) return;
  route(it->first, it->second, to, std::move(body));
}

void RelayRouter::route(const Key& key, Member& m, int to, std::string body) {
  Path& p = m.paths[to];
  if (p.direct && !p.member_writes) {
    // false: the link just went down; its event reports the loss
    direct_->send(key.group, key.rank, to, std::move(body));
    return;
  }
  if (direct_ && !p.member_writes && direct_->up(key.group, key.rank, to)) {
    p.held_bytes += body.size();
    p.held.push_back(std::move(body));
    switch_if_drained(key, m, to, p);
    return;
  }
  if (!m.link) {
    m.early.push_back(std::move(body));
    m.early_to.push_back(to);
    return;
  }
  Status s = m.link->send(peer_id(key.group, to), body);
  if (!s.ok()) diag::warning("{}", s.message());
}

// The relay has delivered everything sent to `to` (the receiver acknowledged
// it on reading it, before it reads the link): what follows may take the link.
void RelayRouter::switch_if_drained(const Key& key, Member& m, int to, Path& p) {
  if (p.direct || !direct_ || !direct_->up(key.group, key.rank, to)) return;
  if (m.link && m.link->backlog(peer_id(key.group, to)) > 0) return;
  p.direct = true;
  for (std::string& body : p.held) direct_->send(key.group, key.rank, to, std::move(body));
  p.held.clear();
  p.held_bytes = 0;
}

size_t RelayRouter::backlog(const std::string& group, int from) const {
  auto it = members_.find({group, from});
  if (it == members_.end()) return 0;
  const Member& m = it->second;
  size_t n = 0;
  for (const std::string& b : m.early) n += b.size();
  for (const auto& [rank, p] : m.paths) n += p.held_bytes;
  if (direct_) n += direct_->backlog(group, from);
  return n + (m.link ? m.link->backlog() : 0);
}

int RelayRouter::take_writer(const std::string& group, int from, int to) {
  auto it = members_.find({group, from});
  if (!direct_ || it == members_.end() || it->second.ended || it->second.handed >= kMaxHanded)
    return -1;
  Member& m = it->second;
  Path& p = m.paths[to];
  // Only once the relay has delivered all it carried there and the link
  // holds nothing of ours: the member's bytes follow ours in order.
  if (!p.direct || p.member_writes || !p.held.empty()) return -1;
  const int fd = direct_->hand_writer(group, from, to);
  if (fd < 0) return -1;
  p.member_writes = true, ++m.handed;
  diag::debug("group {}: rank {} writes to rank {} on the link itself", group, from, to);
  return fd;
}

int RelayRouter::take_reader(const std::string& group, int to, int from) {
  auto it = members_.find({group, to});
  if (!direct_ || it == members_.end() || it->second.ended || it->second.handed >= kMaxHanded)
    return -1;
  // The link has brought a body: `from` sends nothing more by the relay.
  const int fd = direct_->hand_reader(group, to, from);
  if (fd < 0) return -1;
  ++it->second.handed;
  diag::debug("group {}: rank {} reads rank {} on the link itself", group, to, from);
  return fd;
}

void RelayRouter::link_note(const std::string& group, int rank, int peer, bool finished) {
  auto it = members_.find({group, rank});
  if (it == members_.end()) return;
  Member& m = it->second;
  if (finished) {
    m.finished.insert(peer);
  } else if (!m.finished.count(peer) && !m.ended) {
    diag::warning("group {}: rank {} was lost (its direct link ended)", group, peer);
    executor_.member_lost(group, peer);
  }
}

void RelayRouter::broken(const std::string& group) {
  if (direct_) direct_->shut_handed(group);
}

// Each member announces its worker's address to the higher ranks that are
// not on this worker; they dial it.
void RelayRouter::offer(const Key& key, Member& m) {
  if (!direct_ || m.secret.empty() || !m.link) return;
  const std::string body =
      sandbox::make_body(sandbox::kBodyLinkOffer, key.rank, direct_->address());
  for (int r = key.rank + 1; r < m.size; ++r) {
    if (members_.count({key.group, r})) continue;  // here: no link needed
    Status s = m.link->send(peer_id(key.group, r), body);
    if (!s.ok()) diag::warning("{}", s.message());
  }
}

bool RelayRouter::control(const Key& key, Member& m, int from, const std::string& body) {
  if (body.empty()) return false;
  const auto kind = static_cast<uint8_t>(body[0]);
  if (kind == sandbox::kBodyFinished) {
    m.finished.insert(from);
    return true;
  }
  if (kind != sandbox::kBodyLinkOffer) return false;
  // Only a lower rank offers; its address is dialed once, numerically.
  if (!direct_ || m.ended || m.secret.empty() || from >= key.rank || body_from(body) != from ||
      body.size() - 5 > kMaxAddress)
    return true;
  Path& p = m.paths[from];
  if (p.dialed) return true;
  p.dialed = true;
  direct_->dial(key.group, key.rank, from, body.substr(5), m.secret);
  return true;
}

Status RelayRouter::connect_pending() {
  std::map<std::string, int> local;
  for (const auto& [key, m] : members_) ++local[key.group];
  for (auto& [key, m] : members_) {
    if (m.link || m.ended || local[key.group] >= m.size) continue;
    auto link = RelayLink::connect(sig_, peer_id(key.group, key.rank));
    if (!link.ok()) return link.status();
    m.link = std::move(*link);
    offer(key, m);
    for (size_t i = 0; i < m.early.size(); ++i)
      W_RETURN_IF_ERROR(m.link->send(peer_id(key.group, m.early_to[i]), m.early[i]));
    m.early.clear();
    m.early_to.clear();
  }
  return {};
}

void RelayRouter::pump_direct() {
  if (!direct_) return;
  std::vector<LinkEvent> events;
  direct_->pump(events);
  for (LinkEvent& e : events) {
    auto it = members_.find({e.group, e.local});
    if (it == members_.end()) continue;
    const Key& key = it->first;
    Member& m = it->second;
    if (e.kind == LinkEvent::kUp) {
      diag::info("group {}: rank {} <-> rank {}: direct link up{}", e.group, e.local, e.remote,
                 e.tls ? " (TLS)" : "");
      switch_if_drained(key, m, e.remote, m.paths[e.remote]);
    } else if (e.kind == LinkEvent::kData) {
      // A link carries one member's bodies, written by its worker or, once
      // handed, by the member itself: checked as the member checks them.
      if (!sandbox::link_body_allowed(e.data, e.remote)) continue;
      if (!control(key, m, e.remote, e.data) && !m.ended)
        executor_.deliver(e.group, e.local, e.data);
    } else if (!e.was_up) {
      diag::info("group {}: rank {} -> rank {}: no direct link ({}); the relay carries on", e.group,
                 e.local, e.remote, e.reason);
    } else if (!m.finished.count(e.remote) && !m.ended) {
      diag::warning("group {}: rank {} was lost (direct link: {})", e.group, e.remote, e.reason);
      executor_.member_lost(e.group, e.remote);
    }
  }
}

void RelayRouter::pump() {
  // The links first: a peer's `finished` on its link is read before its
  // relay circuit's close is taken for a loss.
  pump_direct();
  const auto now = std::chrono::steady_clock::now();
  for (auto it = members_.begin(); it != members_.end();) {
    const Key& key = it->first;
    Member& m = it->second;
    if (m.link) {
      std::vector<RelayLink::Event> events;
      Status s = m.link->pump(events);
      for (auto& e : events) {
        const int rank = rank_of(key.group, e.peer);
        if (rank < 0) continue;
        if (e.lost) {
          // Past the switch a link carries the messages: its close decides.
          auto p = m.paths.find(rank);
          if (p != m.paths.end() && p->second.direct) continue;
          if (!m.finished.count(rank) && !m.ended) {
            diag::warning("group {}: rank {} was lost ({})", key.group, rank, e.reason);
            executor_.member_lost(key.group, rank);
          }
        } else if (!control(key, m, rank, e.data) && !m.ended) {
          executor_.deliver(key.group, key.rank, e.data);
        }
      }
      if (!s.ok()) {
        diag::warning("{}", s.message());
        m.link.reset();
        if (!m.ended) executor_.member_lost(key.group, key.rank);
      }
      for (auto& [rank, p] : m.paths)
        if (!p.direct && !p.held.empty()) switch_if_drained(key, m, rank, p);
    }
    const bool sent = (!m.link || m.link->flushed()) &&
                      (!direct_ || direct_->backlog(key.group, key.rank) == 0) &&
                      std::all_of(m.paths.begin(), m.paths.end(),
                                  [](const auto& p) { return p.second.held.empty(); });
    if (m.ended && (sent || now - m.ended_at > kLinger)) {
      if (direct_) direct_->close_member(key.group, key.rank, true);
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
}

void RelayRouter::pollfds(std::vector<struct pollfd>& out) const {
  for (const auto& [key, m] : members_)
    if (m.link) out.push_back({m.link->notify_fd(), POLLIN, 0});
  if (direct_) direct_->pollfds(out);
}

int RelayRouter::wait_ms() const {
  int best = direct_ ? direct_->wait_ms() : -1;
  for (const auto& [key, m] : members_) {
    if (!m.link) continue;
    int ms = m.ended ? 50 : m.link->wait_ms();
    if (ms >= 0 && (best < 0 || ms < best)) best = ms;
  }
  return best;
}

void RelayRouter::abort(const std::string& group) {
  for (auto it = members_.begin(); it != members_.end();)
    it = it->first.group == group ? members_.erase(it) : std::next(it);
  if (direct_) direct_->close_group(group);
}

}  // namespace w::worker
