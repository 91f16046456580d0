#include "relay.h"

#include <algorithm>

#include "ids.h"

namespace w::sig {
namespace {

std::string relay_notice(std::string_view type, std::string_view src, std::string_view field,
                         uint64_t value) {
  std::string out = build_message(type, src, {});
  out.pop_back();
  out += ",\"";
  out += field;
  out += "\":";
  out += std::to_string(value);
  out += '}';
  return out;
}

std::string close_notice(std::string_view src, std::string_view reason) {
  if (reason.empty()) return build_message("RELAY-CLOSE", src, {});
  std::string payload = "{\"msg\":";
  append_json_string(payload, reason);
  payload += '}';
  return build_message("RELAY-CLOSE", src, {}, payload);
}

}  // namespace

Relay::Key Relay::key_of(std::string_view a, std::string_view b) {
  return a < b ? Key(a, b) : Key(b, a);
}

void Relay::handle(const std::string& id, const Message& m) {
  if (!m.has_dst || !valid_id(m.dst)) return;
  if (!options_.relay) return refuse(id, m.dst, "Relay is disabled");
  switch (m.type) {
    case Type::kRelayOpen:
      return open(id, m.dst);
    case Type::kRelayAck:
      return ack(id, m.dst, m.bytes);
    case Type::kRelayClose: {
      const Key key = key_of(id, m.dst);
      if (circuits_.count(key)) close(key, {}, m.dst, {});
      return;
    }
    default:
      return;
  }
}

void Relay::refuse(const std::string& id, std::string_view dst, std::string_view reason) {
  if (ConnId c = dir_.conn_of(id)) out_.send(c, close_notice(dst, reason), false);
}

void Relay::open(const std::string& id, const std::string& dst) {
  const ConnId to = dir_.conn_of(dst);
  if (dst == id) return refuse(id, dst, "Cannot relay to oneself");
  if (!to) return refuse(id, dst, "Peer is not connected");
  const Key key = key_of(id, dst);
  if (!circuits_.count(key)) {
    auto& mine = by_peer_[id];
    auto& theirs = by_peer_[dst];
    if (mine.size() >= options_.relay_circuits || theirs.size() >= options_.relay_circuits) {
      if (mine.empty()) by_peer_.erase(id);
      if (theirs.empty()) by_peer_.erase(dst);
      return refuse(id, dst, "Too many circuits");
    }
    circuits_.emplace(key, Circuit());
    mine.push_back(dst);
    theirs.push_back(id);
    ++stats_.opened;
    out_.send(to, relay_notice("RELAY-OPEN", id, "window", options_.relay_window), false);
  }
  out_.send(dir_.conn_of(id), relay_notice("RELAY-OPEN", dst, "window", options_.relay_window),
            false);
}

void Relay::data(const std::string& id, std::string_view frame) {
  if (frame.size() < 2) return;
  const size_t n = static_cast<uint8_t>(frame[1]);
  if (n == 0 || frame.size() < 2 + n) return;
  const std::string dst(frame.substr(2, n));
  const std::string_view body = frame.substr(2 + n);
  if (body.empty()) return;  // would cost the receiver a message and no window
  const Key key = key_of(id, dst);
  auto it = circuits_.find(key);
  if (it == circuits_.end()) return refuse(id, dst, "No such circuit");
  size_t& flight = it->second.flight[id == key.first ? 0 : 1];
  if (flight + body.size() > options_.relay_window) {
    ++stats_.window_violations;
    return close(key, id, dst, "Window exceeded");
  }
  std::string out;
  out.reserve(2 + id.size() + body.size());
  out += '\0';
  out += static_cast<char>(id.size());
  out += id;
  out += body;
  // A lost frame would corrupt the stream: when the receiver's queue is
  // full (its circuits together exceed --send-queue), the circuit ends.
  if (!out_.send(dir_.conn_of(dst), std::move(out), true))
    return close(key, id, dst, "Receiver's queue is full");
  flight += body.size();
  in_flight_ += body.size();
  ++stats_.frames;
  stats_.bytes += body.size();
}

bool Relay::acknowledges(const std::string& id, const Message& m) const {
  if (m.type != Type::kRelayAck || !m.has_dst || m.bytes <= 0) return false;
  const Key key = key_of(id, m.dst);
  auto it = circuits_.find(key);
  return it != circuits_.end() && it->second.flight[m.dst == key.first ? 0 : 1] > 0;
}

void Relay::ack(const std::string& id, const std::string& dst, int64_t bytes) {
  if (bytes < 0) return;
  const Key key = key_of(id, dst);
  auto it = circuits_.find(key);
  if (it == circuits_.end()) return;
  // `id` acknowledges what `dst` sent it: the dst -> id direction.
  size_t& flight = it->second.flight[dst == key.first ? 0 : 1];
  const size_t n = std::min(flight, static_cast<size_t>(bytes));
  if (n == 0) return;  // nothing acknowledged: nothing to tell
  flight -= n;
  in_flight_ -= n;
  // A lost ack would stall the sender for ever: end the circuit instead.
  if (!out_.send(dir_.conn_of(dst), relay_notice("RELAY-ACK", id, "bytes", n), false))
    close(key, id, dst, "Receiver's queue is full");
}

void Relay::close(const Key& key, const std::string& tell_a, const std::string& tell_b,
                  std::string_view reason) {
  auto it = circuits_.find(key);
  in_flight_ -= it->second.flight[0] + it->second.flight[1];
  circuits_.erase(it);
  unlink(key.first, key.second);
  unlink(key.second, key.first);
  ++stats_.closed;
  // Each side hears the other side's name as src.
  for (const std::string* who : {&tell_a, &tell_b}) {
    if (who->empty()) continue;
    const std::string& other = *who == key.first ? key.second : key.first;
    if (ConnId c = dir_.conn_of(*who)) out_.send(c, close_notice(other, reason), false);
  }
}

void Relay::unlink(const std::string& id, const std::string& other) {
  auto it = by_peer_.find(id);
  if (it == by_peer_.end()) return;
  std::erase(it->second, other);
  if (it->second.empty()) by_peer_.erase(it);
}

void Relay::on_disconnect(const std::string& id) {
  auto it = by_peer_.find(id);
  if (it == by_peer_.end()) return;
  const std::vector<std::string> others = it->second;
  for (const std::string& other : others) close(key_of(id, other), {}, other, "Peer disconnected");
}

}  // namespace w::sig
