// Capabilities: what a holder may do, checked without user accounts
// (PSciLab §4.6, DESIGN.md "Capabilities").
//
// A capability is a short printable string
//
//     w1:SERVICE:OBJECT:RIGHTS:EXPIRES:MAC
//
//   w1       format version
//   SERVICE  the service it is for ("wsql", "wpool")
//   OBJECT   one object (a database, a campaign) or "*" for all
//   RIGHTS   the rights mask in hex; each service names its bits
//   EXPIRES  unix seconds after which it is refused; 0 = never
//   MAC      HMAC-SHA256(secret, everything before ":MAC"), base64url
//
// Only a holder of the service's secret can mint one; any holder can ask the
// service for a weaker copy (restrict). Every character is URL-safe, so a
// capability can travel in a query string unescaped.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "w/status.h"

namespace w::cap {

struct Capability {
  std::string service;
  std::string object;   ///< one object, or "*" for every object of the service
  uint32_t rights = 0;  ///< bit mask; meanings are the service's
  int64_t expires = 0;  ///< unix seconds; 0 = never

  /// True if every bit of `needed` is granted (a mask test, never `&&`).
  bool allows(uint32_t needed) const { return (rights & needed) == needed; }
  /// True if this capability speaks for `name` (itself or "*").
  bool covers(std::string_view name) const { return object == "*" || object == name; }
};

/// One named right of a service, e.g. {"read", 1}.
struct RightName {
  std::string_view name;
  uint32_t bit;
};
using RightNames = std::span<const RightName>;

/// Parses "read,write", "all" (every named bit) or a hex mask "0x3".
Result<uint32_t> parse_rights(std::string_view text, RightNames names);
/// "read,write"; bits without a name are shown as a trailing "0x..".
std::string format_rights(uint32_t rights, RightNames names);

/// True for names that may be a service or an object: 1-64 of
/// [A-Za-z0-9_.-], not starting with '.' or '-'. "*" is checked separately.
bool valid_name(std::string_view name);

/// Signs `c` with `secret`. REQUIRES: valid service and object names.
std::string mint(const Capability& c, std::string_view secret);

/// Parses and checks a capability: format, MAC (compared in constant time)
/// and expiry against `now` (unix seconds; default: the clock). Every
/// refusal is Code::kDenied with the reason; the caller still checks the
/// service and object.
Result<Capability> verify(std::string_view text, std::string_view secret, int64_t now = -1);

/// Mints a weaker copy of the valid capability `text`: rights are
/// intersected, the object may narrow from "*" to one name (never widen),
/// and the expiry can only come sooner (0 in `expires` keeps the old one).
Result<std::string> restrict(std::string_view text, std::string_view secret, uint32_t rights,
                             std::string_view object, int64_t expires);

/// A fresh secret: 32 random bytes from the OS, as 64 hex digits.
Result<std::string> generate_secret();

/// Reads a secret file: its first line, trimmed; at least 16 characters.
Result<std::string> read_secret(const std::string& path);

/// Reads the secret at `path` for minting, never creating it: a mistyped
/// path must not sign with a secret no server knows. Missing: kNotFound,
/// the message ending "create one with " + `how` ("'wsig secret new F'").
Result<std::string> read_existing_secret(const std::string& path, std::string_view how);

/// Reads `path`, or creates it (mode 0600) with a generated secret if it
/// does not exist. Creation is atomic, so two programs starting together
/// agree on one secret.
Result<std::string> load_or_create_secret(const std::string& path);

/// Creates `path` (mode 0600) with a generated secret; Code::kUsage if a
/// file is there already (it is never replaced).
Status create_secret(const std::string& path);

// ------------------------------------------------- what servers and tools share

/// A service's check of the capabilities its clients present: the plain
/// shared key (every right) first, then texts verified before, then the MAC,
/// expiry and service. One per server. REQUIRES: used from one thread.
class Verifier {
 public:
  /// Either may be empty. Without a secret, capabilities are signed with the
  /// key (so `SERVICE cap --key KEY` mints for a key-only server).
  Verifier(std::string_view service, std::string secret, std::string key, uint32_t all_rights);

  /// False when the server has neither: then it checks nothing.
  bool enabled() const { return !hmac_secret_.empty(); }
  bool has_secret() const { return has_secret_; }
  /// True if `text` is the shared key (compared in constant time).
  bool is_key(std::string_view text) const;
  /// The secret capabilities are signed with.
  const std::string& hmac_secret() const { return hmac_secret_; }

  /// The capability `text` grants; every refusal is Code::kDenied with the
  /// reason (forged, expired, another service, no capability).
  Result<Capability> check(std::string_view text);

 private:
  std::string service_, hmac_secret_, key_;
  uint32_t all_rights_;
  bool has_secret_;
  std::unordered_map<std::string, Capability> cache_;  // verified texts, bounded
};

/// Ok if `c` grants every bit of `need` on `object` ("" = nothing to scope);
/// else Code::kDenied: "the capability is for KIND 'a', not 'b'" or "this
/// capability lacks the 'submit' right on KIND 'b'". `kind` names the
/// service's objects ("database", "campaign").
Status authorize(const Capability& c, uint32_t need, std::string_view kind, std::string_view object,
                 RightNames names);

/// What `SERVICE cap` needs to mint a capability locally.
struct MintOptions {
  std::string secret_file;  ///< the service's secret file, never created here...
  std::string key;          ///< ...else its plain shared key, used as the secret
  std::string object = "*";
  std::string rights;     ///< as parse_rights reads them
  double expires_in = 0;  ///< seconds from now; 0 = never
};

/// Parses the rights, reads the secret, checks the object name (`kind`
/// names it in messages) and mints. A missing secret file is kNotFound
/// naming `SERVICE secret new FILE`: a mistyped path must never mint with
/// a new secret nobody serves.
Result<std::string> mint_with(std::string_view service, const MintOptions& o, RightNames names,
                              std::string_view kind);

}  // namespace w::cap
