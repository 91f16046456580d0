// Capabilities: HMAC-SHA256 signed strings (see w/cap.h for the format).
//
// The MAC covers the whole text before it, version included, so no field
// can be changed without the secret. It is compared as base64url text of a
// fixed length with CRYPTO_memcmp, which takes the same time wherever the
// first difference is.
#include "w/cap.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "w/base64.h"

namespace w::cap {
namespace {

constexpr std::string_view kVersion = "w1";
constexpr size_t kMinSecret = 16;

std::string mac_of(std::string_view body, std::string_view secret) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
  return base64::encode_url({reinterpret_cast<const char*>(md), len});
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

template <class T>
bool parse_number(std::string_view s, T& out, int base) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

Status denied(std::string message) {
  return {Code::kDenied, std::move(message)};
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(s.find_last_not_of(ws) + 1);
  s.erase(0, s.find_first_not_of(ws));
  return s;
}

}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<uint32_t> parse_rights(std::string_view text, RightNames names) {
  if (text.substr(0, 2) == "0x") {
    uint32_t mask;
    if (!parse_number(text.substr(2), mask, 16))
      return Status::Invalid(fmt::format("bad rights mask '{}'", text));
    return mask;
  }
  uint32_t mask = 0;
  for (std::string_view word : split(text, ',')) {
    bool found = word == "all";
    for (const RightName& r : names) {
      if (word == "all" || word == r.name) {
        mask |= r.bit;
        found = true;
      }
    }
    if (!found) {
      std::string known = "all";
      for (const RightName& r : names) known += fmt::format(", {}", r.name);
      return Status::Invalid(fmt::format("unknown right '{}' (known: {})", word, known));
    }
  }
  return mask;
}

std::string format_rights(uint32_t rights, RightNames names) {
  std::string out;
  uint32_t named = 0;
  for (const RightName& r : names) {
    if ((rights & r.bit) != r.bit) continue;
    named |= r.bit;
    if (!out.empty()) out += ',';
    out += r.name;
  }
  if (uint32_t rest = rights & ~named) out += fmt::format("{}0x{:x}", out.empty() ? "" : ",", rest);
  return out.empty() ? "none" : out;
}

std::string mint(const Capability& c, std::string_view secret) {
  std::string body =
      fmt::format("{}:{}:{}:{:x}:{}", kVersion, c.service, c.object, c.rights, c.expires);
  std::string mac = mac_of(body, secret);
  return body + ":" + mac;
}

Result<Capability> verify(std::string_view text, std::string_view secret, int64_t now) {
  std::vector<std::string_view> f = split(text, ':');
  if (f.size() != 6 || f[0] != kVersion)
    return denied("capability is malformed (expected w1:SERVICE:OBJECT:RIGHTS:EXPIRES:MAC)");
  Capability c;
  c.service = std::string(f[1]);
  c.object = std::string(f[2]);
  if (!valid_name(c.service) || (c.object != "*" && !valid_name(c.object)) ||
      !parse_number(f[3], c.rights, 16) || !parse_number(f[4], c.expires, 10) || c.expires < 0)
    return denied("capability is malformed");
  std::string_view body = text.substr(0, text.size() - f[5].size() - 1);
  std::string expected = mac_of(body, secret);
  // Lengths are public (43 characters for SHA-256); only content is secret.
  if (f[5].size() != expected.size() ||
      CRYPTO_memcmp(f[5].data(), expected.data(), expected.size()) != 0)
    return denied("capability check failed (forged, altered, or for another server)");
  if (now < 0) now = static_cast<int64_t>(std::time(nullptr));
  if (c.expires != 0 && now >= c.expires)
    return denied(fmt::format("capability expired {} s ago", now - c.expires));
  return c;
}

Result<std::string> restrict(std::string_view text, std::string_view secret, uint32_t rights,
                             std::string_view object, int64_t expires) {
  auto c = verify(text, secret);
  if (!c.ok()) return c.status();
  if (!object.empty() && object != c->object) {
    if (c->object != "*") return denied("a capability cannot be widened to another object");
    if (object != "*" && !valid_name(object))
      return Status::Invalid(fmt::format("bad object name '{}'", object));
    c->object = std::string(object);
  }
  c->rights &= rights;
  if (expires < 0) return Status::Invalid("expiry must not be negative");
  if (expires != 0 && (c->expires == 0 || expires < c->expires)) c->expires = expires;
  return mint(*c, secret);
}

Result<std::string> generate_secret() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return Status::Internal("RAND_bytes failed");
  std::string hex;
  for (unsigned char b : raw) hex += fmt::format("{:02x}", b);
  return hex;
}

Result<std::string> read_secret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno_status(fmt::format("read secret '{}'", path), errno);
  std::string line;
  std::getline(in, line);
  line = trim(line);
  if (line.size() < kMinSecret)
    return Status::Invalid(
        fmt::format("secret '{}' is shorter than {} characters", path, kMinSecret));
  return line;
}

Result<std::string> read_existing_secret(const std::string& path, std::string_view how) {
  if (access(path.c_str(), F_OK) != 0)
    return Status(Code::kNotFound,
                  fmt::format("secret file '{}' does not exist: create one with {}", path, how));
  return read_secret(path);
}

namespace {

// Writes a generated secret to `path` unless a file is there. A private
// temporary file (mode 0600) is written, then link(2)ed into place: link
// fails with EEXIST, never replacing a file, if the name is taken (by a
// process that won a race, too); `*exists` then says so.
Status write_new_secret(const std::string& path, bool* exists) {
  *exists = false;
  auto secret = generate_secret();
  if (!secret.ok()) return secret.status();
  std::string tmp = path + ".XXXXXX";
  int fd = mkstemp(tmp.data());  // mode 0600, a name no one else holds
  if (fd < 0) return errno_status(fmt::format("create secret '{}'", tmp), errno);
  std::string line = *secret + "\n";
  bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  bool synced = fsync(fd) == 0;
  close(fd);
  if (!written || !synced) {
    int err = errno;
    unlink(tmp.c_str());
    return errno_status(fmt::format("write secret '{}'", tmp), err);
  }
  int rc = link(tmp.c_str(), path.c_str());
  int err = errno;
  unlink(tmp.c_str());
  if (rc == 0) return {};
  *exists = err == EEXIST;
  return errno_status(fmt::format("create secret '{}'", path), err);
}

}  // namespace

Result<std::string> load_or_create_secret(const std::string& path) {
  if (access(path.c_str(), F_OK) == 0) return read_secret(path);
  bool exists = false;
  Status s = write_new_secret(path, &exists);
  if (!s.ok() && !exists) return s;  // another process made it first: read theirs
  return read_secret(path);
}

Status create_secret(const std::string& path) {
  bool exists = false;
  Status s = write_new_secret(path, &exists);
  if (exists)
    return Status(Code::kUsage,
                  fmt::format("'{}' exists: a secret is never overwritten (every capability "
                              "signed with it would stop working); remove it first",
                              path));
  return s;
}

}  // namespace w::cap
