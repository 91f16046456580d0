#include "hub.h"

#include <algorithm>

#include "ids.h"
#include "message.h"

namespace w::sig {

Hub::Hub(const SigOptions& options, Outbox& out, Clock clock)
    : options_(options),
      out_(out),
      clock_(std::move(clock)),
      mail_(options.queue_per_peer, options.queue_bytes, options.expire_timeout_ms),
      groups_(options, out, *this),
      relay_(options, out, *this) {}

Hub::~Hub() = default;

ConnId Hub::conn_of(std::string_view id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? 0 : it->second.conn;
}

std::vector<std::string> Hub::ids_with_prefix(std::string_view prefix) const {
  std::vector<std::string> ids;
  for (const auto& [id, peer] : peers_)
    if (id.compare(0, prefix.size(), prefix) == 0) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string Hub::fresh_id() const {
  std::string id = random_id();
  while (peers_.count(id)) id = random_id();
  return id;
}

bool Hub::prefix_member(std::string_view id) const {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.prefix_member;
}

bool Hub::refuse(ConnId conn, std::string_view type, std::string_view msg) {
  ++stats_.refused;
  out_.send(conn, build_notice(type, msg), false);
  out_.close(conn);
  return false;
}

bool Hub::joins_prefix(std::string_view id, std::string_view token, std::string_view cap) const {
  if (options_.group_secret.empty()) return true;
  const std::string_view group = group_of(id);
  return !group.empty() &&
         (check_group_capability(options_.group_secret, cap, group, kRightJoin) ||
          check_group_capability(options_.group_secret, token, group, kRightJoin));
}

bool Hub::open(ConnId conn, std::string_view key, std::string_view id, std::string_view token,
               std::string_view cap) {
  if (id.empty() || token.empty() || key.empty())
    return refuse(conn, "ERROR", "No id, token, or key supplied to websocket server");
  if (key != options_.key) return refuse(conn, "ERROR", "Invalid key provided");
  if (!valid_id(id)) return refuse(conn, "ERROR", "Invalid id provided");
  if (!valid_token(token)) return refuse(conn, "ERROR", "Invalid token provided");
  auto it = peers_.find(id);
  if (it != peers_.end()) {
    if (it->second.token != token) return refuse(conn, "ID-TAKEN", "ID is taken");
    if (joins_prefix(id, token, cap)) it->second.prefix_member = true;
    return take_over(conn, it);
  }
  if (peers_.size() >= options_.concurrent_limit)
    return refuse(conn, "ERROR", "Server has reached its concurrent user limit");
  // Only created groups guard their prefix: ids from GET /id (UUIDs) have a
  // '-' too, and must not need a capability. A peer that needed none, the
  // group not existing yet, is no member when it is created (Groups).
  const bool member = joins_prefix(id, token, cap);
  const std::string_view group = group_of(id);
  if (!member && !group.empty() && groups_.exists(group))
    return refuse(conn, "ERROR", "A capability is required to connect in this group");
  return register_peer(conn, id, token, member);
}

bool Hub::take_over(ConnId conn, PeerMap::iterator it) {
  Peer& p = it->second;
  by_conn_.erase(p.conn);
  out_.close(p.conn);
  p.conn = conn;
  p.last_seen = clock_();
  by_conn_[conn] = &*it;
  ++stats_.takeovers;
  out_.send(conn, "{\"type\":\"OPEN\"}", false);
  return true;
}

bool Hub::register_peer(ConnId conn, std::string_view id, std::string_view token,
                        bool prefix_member) {
  auto [it, inserted] = peers_.try_emplace(std::string(id));
  Peer& p = it->second;
  p.token = std::string(token);
  p.conn = conn;
  p.last_seen = p.filled = clock_();
  p.tokens = 4 * options_.rate_limit;  // a full bucket: one burst
  p.prefix_member = prefix_member;
  by_conn_[conn] = &*it;
  ++stats_.registered;
  out_.send(conn, "{\"type\":\"OPEN\"}", false);
  for (Pending& m : mail_.take(it->first)) {
    out_.send(conn, std::move(m.data), false);
    ++stats_.delivered;
  }
  groups_.on_connect(it->first, prefix_member);
  return true;
}

bool Hub::charge(PeerMap::iterator it, size_t size, int64_t now) {
  Peer& p = it->second;
  const double burst = 4 * options_.rate_limit;
  p.tokens =
      std::min(burst, p.tokens + options_.rate_limit * static_cast<double>(now - p.filled) / 1000);
  p.filled = now;
  p.tokens -= 1 + static_cast<double>(size > 0 ? (size - 1) / 1024 : 0);
  if (p.tokens >= 0) return true;
  ++stats_.rate_limited;
  if (p.tokens > -burst) return false;
  // Deep in debt: not a burst but a flood. The sender goes, at once.
  ++stats_.flooders;
  out_.send(p.conn, build_notice("ERROR", "Too many messages"), false);
  out_.close(p.conn);
  remove(it);
  return false;
}

void Hub::message(ConnId conn, std::string_view data, bool binary) {
  auto c = by_conn_.find(conn);
  if (c == by_conn_.end()) return;  // refused, or replaced by a takeover
  const std::string& id = c->second->first;
  const int64_t now = clock_();
  c->second->second.last_seen = now;
  // Relay data is bounded by its circuit's window, not by the rate.
  if (binary && !data.empty() && data[0] == '\0') return relay_.data(id, data);
  Message m;
  const bool parsed = parse_message(data, m);
  // An ack of relayed bytes is paid for by the data it answers (a coupled
  // ping-pong sends thousands a second); every other message by its sender.
  if (!(parsed && relay_.acknowledges(id, m)) && !charge(peers_.find(id), data.size(), now)) return;
  if (!parsed) {
    ++stats_.dropped;
    return;
  }
  if (m.type == Type::kHeartbeat) {
    ++stats_.heartbeats;
  } else if (is_transmission(m.type)) {
    transmit(id, m);
  } else if (m.type >= Type::kGroupCreate && m.type <= Type::kGroupDelete) {
    groups_.handle(id, m, clock_());
  } else if (m.type >= Type::kRelayOpen && m.type <= Type::kRelayClose) {
    relay_.handle(id, m);
  } else {
    ++stats_.dropped;
  }
}

void Hub::transmit(const std::string& src, const Message& m) {
  // An id no client can have would only ever be queued and expire.
  if (!m.has_dst || !valid_id(m.dst)) {
    ++stats_.dropped;
    return;
  }
  std::string out =
      build_message(type_name(m.type), src, m.dst, m.has_payload ? m.payload : std::string_view());
  auto it = peers_.find(m.dst);
  if (it != peers_.end()) {
    if (out_.send(it->second.conn, std::move(out), false))
      ++stats_.relayed;
    else
      ++stats_.dropped_full;  // the receiver stays: it is slow, not guilty
  } else if (m.type == Type::kLeave || m.type == Type::kExpire) {
    ++stats_.dropped;
  } else {
    ++stats_.queued;
    mail_.push(m.dst, src, std::move(out), clock_(),
               [this](const std::string& s, const std::string& d) { tell_expired(s, d); });
  }
}

void Hub::tell_expired(const std::string& src, const std::string& dst) {
  // The sender learns that `dst` never picked its messages up.
  auto it = peers_.find(src);
  if (it == peers_.end()) return;
  ++stats_.expired;
  out_.send(it->second.conn, build_message("EXPIRE", dst, src), false);
}

void Hub::closed(ConnId conn) {
  auto c = by_conn_.find(conn);
  if (c == by_conn_.end()) return;
  remove(peers_.find(c->second->first));
}

void Hub::remove(PeerMap::iterator it) {
  by_conn_.erase(it->second.conn);
  const std::string id = it->first;
  const bool prefix_member = it->second.prefix_member;
  peers_.erase(it);
  relay_.on_disconnect(id);
  groups_.on_disconnect(id, clock_(), prefix_member);
}

void Hub::check_alive(int64_t now) {
  std::vector<std::string> silent;
  for (const auto& [id, peer] : peers_)
    if (now - peer.last_seen >= options_.alive_timeout_ms) silent.push_back(id);
  for (const std::string& id : silent) {
    auto it = peers_.find(id);
    out_.close(it->second.conn);
    ++stats_.timed_out;
    remove(it);
  }
}

void Hub::tick() {
  const int64_t now = clock_();
  mail_.expire(now, [this](const std::string& s, const std::string& d) { tell_expired(s, d); });
  if (now >= next_alive_check_) {
    // A scan of every peer: cheap at 10,000 peers, and not needed more
    // often than a few times per alive timeout.
    check_alive(now);
    groups_.tick(now);
    next_alive_check_ = now + std::clamp<int64_t>(options_.alive_timeout_ms / 8, 10, 1000);
  }
}

}  // namespace w::sig
