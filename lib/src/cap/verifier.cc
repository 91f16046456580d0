// What wsql and wpool share around capabilities: the server's check of a
// presented text (shared key, cache, MAC), the rights test with its
// messages, and local minting for the `cap` subcommands.
#include <openssl/crypto.h>

#include <unistd.h>

#include <ctime>

#include <fmt/format.h>

#include "w/cap.h"

namespace w::cap {
namespace {

// Verified texts are kept so a busy client does not pay an HMAC per
// request; past this many the cache starts over rather than grow.
constexpr size_t kMaxCachedCaps = 4096;

Status denied(std::string message) {
  return {Code::kDenied, std::move(message)};
}

}  // namespace

Verifier::Verifier(std::string_view service, std::string secret, std::string key,
                   uint32_t all_rights)
    : service_(service), key_(std::move(key)), all_rights_(all_rights) {
  has_secret_ = !secret.empty();
  hmac_secret_ = has_secret_ ? std::move(secret) : key_;
}

bool Verifier::is_key(std::string_view text) const {
  // Lengths are not secret; the content is compared in constant time.
  return !key_.empty() && text.size() == key_.size() &&
         CRYPTO_memcmp(text.data(), key_.data(), key_.size()) == 0;
}

Result<Capability> Verifier::check(std::string_view text) {
  if (text.empty()) return denied("no capability");
  if (is_key(text)) return Capability{service_, "*", all_rights_, 0};
  if (auto it = cache_.find(std::string(text)); it != cache_.end()) {
    const Capability& c = it->second;
    if (c.expires == 0 || c.expires > static_cast<int64_t>(std::time(nullptr))) return c;
  }
  if (hmac_secret_.empty()) return denied("this server takes no capabilities");
  auto c = verify(text, hmac_secret_);
  if (!c.ok()) return c.status();
  if (c->service != service_)
    return denied(fmt::format("the capability is for service '{}', not {}", c->service, service_));
  if (cache_.size() >= kMaxCachedCaps) cache_.clear();
  cache_.emplace(std::string(text), *c);
  return c;
}

Status authorize(const Capability& c, uint32_t need, std::string_view kind, std::string_view object,
                 RightNames names) {
  if (!object.empty() && !c.covers(object))
    return denied(fmt::format("the capability is for {} '{}', not '{}'", kind, c.object, object));
  if (c.allows(need)) return {};
  std::string on = object.empty() ? "" : fmt::format(" on {} '{}'", kind, object);
  return denied(fmt::format("this capability lacks the '{}' right{}",
                            format_rights(need & ~c.rights, names), on));
}

Result<std::string> mint_with(std::string_view service, const MintOptions& o, RightNames names,
                              std::string_view kind) {
  auto rights = parse_rights(o.rights, names);
  if (!rights.ok()) return rights.status();
  // The secret file wins: a key may also come from the environment (WPOOL_KEY)
  // for a LAN pool, and must not silently sign for a pool with a secret.
  std::string secret = o.key;
  if (!o.secret_file.empty()) {
    auto s = read_existing_secret(
        o.secret_file, fmt::format("'{} secret new {}' (or start '{} serve --secret {}')", service,
                                   o.secret_file, service, o.secret_file));
    if (!s.ok()) return s.status();
    secret = *s;
  }
  if (secret.empty()) return Status::Invalid("cap: give --secret FILE or --key KEY");
  if (o.object != "*" && !valid_name(o.object))
    return Status::Invalid(fmt::format("bad {} name '{}'", kind, o.object));
  const int64_t expires =
      o.expires_in > 0 ? int64_t{std::time(nullptr)} + static_cast<int64_t>(o.expires_in) : 0;
  return mint(Capability{std::string(service), o.object, *rights, expires}, secret);
}

}  // namespace w::cap
