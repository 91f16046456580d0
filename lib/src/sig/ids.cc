#include "ids.h"

#include <sys/random.h>

#include <cstdint>

#include <fmt/format.h>

#include "w/cap.h"
#include "w/sig.h"

namespace w::sig {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_separator(char c) {
  return c == '-' || c == '_' || c == ' ';
}

constexpr cap::RightName kRightNames[] = {{"create", kRightCreate}, {"join", kRightJoin}};

}  // namespace

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxId || !is_alnum(id.front()) || !is_alnum(id.back()))
    return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (is_alnum(id[i])) continue;
    // A separator must sit between two alphanumerics.
    if (!is_separator(id[i]) || !is_alnum(id[i + 1])) return false;
  }
  return true;
}

bool valid_token(std::string_view token) {
  if (token.empty() || token.size() > kMaxToken) return false;
  for (char c : token)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

std::string random_id() {
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += kHex[b[i] >> 4];
    id += kHex[b[i] & 15];
  }
  return id;
}

std::string_view group_of(std::string_view id) {
  const size_t dash = id.find('-');
  return dash == std::string_view::npos ? std::string_view() : id.substr(0, dash);
}

bool valid_group_prefix(std::string_view prefix) {
  return prefix.size() >= 2 && is_separator(prefix.back()) &&
         valid_id(prefix.substr(0, prefix.size() - 1));
}

Result<std::string> mint_group_capability(std::string_view secret, std::string_view group,
                                          std::string_view rights, int64_t expires) {
  if (group != "*" && !cap::valid_name(group))
    return Status::Invalid(fmt::format("bad group name '{}'", group));
  auto mask = cap::parse_rights(rights, kRightNames);
  if (!mask.ok()) return mask.status();
  if (expires < 0) return Status::Invalid("expiry must not be negative");
  return cap::mint(cap::Capability{"wsig", std::string(group), *mask, expires}, secret);
}

bool check_group_capability(std::string_view secret, std::string_view text, std::string_view group,
                            uint32_t right) {
  if (text.empty()) return false;
  auto c = cap::verify(text, secret);
  return c.ok() && c->service == "wsig" && c->covers(group) && c->allows(right);
}

}  // namespace w::sig
