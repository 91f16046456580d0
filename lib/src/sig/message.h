// wsig's wire messages: one JSON object per WebSocket message.
//
// The parser validates the whole text as RFC 8259 JSON (and its strings as
// UTF-8: a browser drops a WebSocket that carries invalid UTF-8 in a text
// frame, so one bad sender must not be able to pass it on), then keeps only
// the top-level fields wsig acts on. `payload` is kept as the raw bytes of its
// value, so relayed SDP and ICE candidates reach the other peer exactly as
// sent: numbers, escapes and spacing are never re-serialised.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace w::sig {

/// The message types wsig acts on. PeerJS clients send HEARTBEAT .. EXPIRE;
/// the GROUP-* and RELAY-* types are wsig's own (stock clients never send
/// them). Anything else is kUnknown and dropped.
enum class Type : uint8_t {
  kUnknown,
  kHeartbeat,
  kOffer,
  kAnswer,
  kCandidate,
  kLeave,
  kExpire,
  kGroupCreate,
  kGroupJoin,
  kGroupLeave,
  kGroupMembers,
  kGroupDelete,
  kRelayOpen,
  kRelayAck,
  kRelayClose,
};

/// The wire name of a type ("OFFER"); "" for kUnknown.
std::string_view type_name(Type type);
Type type_from_name(std::string_view name);

/// True for the five types relayed peer to peer as {type, src, dst, payload}.
inline bool is_transmission(Type t) {
  return t >= Type::kOffer && t <= Type::kExpire;
}

/// The fields of one message. A string field is set only if the key was
/// present with a string value; the last of duplicate keys wins, as in
/// JavaScript's JSON.parse.
struct Message {
  Type type = Type::kUnknown;
  bool has_dst = false;
  std::string dst;  ///< decoded (escapes resolved)
  bool has_payload = false;
  std::string_view payload;  ///< raw JSON text of the value; points into the input
  std::string group;         ///< GROUP-*: the group's name
  std::string cap;           ///< GROUP-*: a capability, if the server wants one
  int64_t bytes = -1;        ///< RELAY-ACK: bytes consumed (non-negative integer), else -1
};

/// Parses `text` into `out`. Returns false, leaving `out` unspecified, unless
/// `text` is exactly one JSON object (surrounding whitespace allowed) with
/// valid UTF-8 and at most kMaxDepth levels of nesting.
bool parse_message(std::string_view text, Message& out);

constexpr int kMaxDepth = 128;

/// True if `text` is one valid JSON value (any kind), as parse_message checks.
bool valid_json(std::string_view text);

/// Appends `s` to `out` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);

/// {"type":T,"src":S,"dst":D,"payload":P}: the key order the stock server
/// emits. `src`/`dst` are omitted when empty, `payload` when empty (it is
/// raw JSON text and spliced in verbatim).
std::string build_message(std::string_view type, std::string_view src, std::string_view dst,
                          std::string_view payload = {});

/// {"type":"ERROR","payload":{"msg":M}} and friends: a server notice.
std::string build_notice(std::string_view type, std::string_view msg);

}  // namespace w::sig
