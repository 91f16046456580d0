#include "link_tls.h"

#include <openssl/err.h>

#include <cstring>

#include <fmt/format.h>

namespace w::worker {
namespace {

constexpr unsigned char kIdentity[] = "wkit-link";
constexpr unsigned char kAes128GcmSha256[] = {0x13, 0x01};

std::string ssl_error(const char* what) {
  const unsigned long e = ERR_get_error();
  char text[256] = "unknown";
  if (e) ERR_error_string_n(e, text, sizeof text);
  ERR_clear_error();
  return fmt::format("TLS {}: {}", what, text);
}

}  // namespace

SSL_SESSION* LinkTls::session() const {
  SSL_SESSION* s = SSL_SESSION_new();
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl_, kAes128GcmSha256);
  if (!s || !cipher ||
      !SSL_SESSION_set1_master_key(s, reinterpret_cast<const unsigned char*>(key_.data()),
                                   key_.size()) ||
      !SSL_SESSION_set_cipher(s, cipher) || !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

int LinkTls::use_session(SSL* ssl, const EVP_MD* /*md*/, const unsigned char** id, size_t* idlen,
                         SSL_SESSION** sess) {
  const auto* self = static_cast<const LinkTls*>(SSL_get_app_data(ssl));
  *sess = self->session();
  *id = kIdentity;
  *idlen = sizeof kIdentity - 1;
  return *sess ? 1 : 0;
}

int LinkTls::find_session(SSL* ssl, const unsigned char* id, size_t idlen, SSL_SESSION** sess) {
  const auto* self = static_cast<const LinkTls*>(SSL_get_app_data(ssl));
  if (idlen != sizeof kIdentity - 1 || std::memcmp(id, kIdentity, idlen) != 0) {
    *sess = nullptr;  // not ours: the handshake fails
    return 1;
  }
  *sess = self->session();
  return *sess ? 1 : 0;
}

Result<std::unique_ptr<LinkTls>> LinkTls::start(bool client, std::string key) {
  std::unique_ptr<LinkTls> t(new LinkTls());
  t->key_ = std::move(key);
  t->ctx_ = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
  if (!t->ctx_) return Status(Code::kInternal, ssl_error("context"));
  SSL_CTX_set_min_proto_version(t->ctx_, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(t->ctx_, "TLS_AES_128_GCM_SHA256");
  SSL_CTX_set_session_cache_mode(t->ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(t->ctx_, 0);
  t->ssl_ = SSL_new(t->ctx_);
  t->in_ = BIO_new(BIO_s_mem());
  t->out_ = BIO_new(BIO_s_mem());
  if (!t->ssl_ || !t->in_ || !t->out_) {
    BIO_free(t->in_);
    BIO_free(t->out_);
    return Status(Code::kInternal, ssl_error("session"));
  }
  BIO_set_mem_eof_return(t->in_, -1);  // empty: "try again", not the end
  SSL_set_bio(t->ssl_, t->in_, t->out_);
  SSL_set_app_data(t->ssl_, t.get());
  if (client) {
    SSL_set_psk_use_session_callback(t->ssl_, &LinkTls::use_session);
    SSL_set_connect_state(t->ssl_);
  } else {
    SSL_set_psk_find_session_callback(t->ssl_, &LinkTls::find_session);
    SSL_set_accept_state(t->ssl_);
  }
  return t;
}

LinkTls::~LinkTls() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

void LinkTls::feed(const char* data, size_t n) {
  BIO_write(in_, data, static_cast<int>(n));
}

Result<bool> LinkTls::handshake() {
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return true;
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  return Status(Code::kIo, ssl_error("handshake"));
}

Status LinkTls::read(std::string& out, size_t& len) {
  while (true) {
    if (out.size() < len + 16384) out.resize(len + (size_t{256} << 10));
    const int n = SSL_read(ssl_, out.data() + len, static_cast<int>(out.size() - len));
    if (n > 0) {
      len += static_cast<size_t>(n);
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ) return {};
    if (err == SSL_ERROR_ZERO_RETURN) return Status(Code::kIo, "the other end closed the link");
    return Status(Code::kIo, ssl_error("read"));
  }
}

Status LinkTls::write(const char* data, size_t n) {
  if (n == 0) return {};
  if (SSL_write(ssl_, data, static_cast<int>(n)) != static_cast<int>(n))
    return Status(Code::kIo, ssl_error("write"));
  return {};
}

std::string LinkTls::take_output() {
  std::string bytes(BIO_ctrl_pending(out_), '\0');
  if (!bytes.empty()) BIO_read(out_, bytes.data(), static_cast<int>(bytes.size()));
  return bytes;
}

}  // namespace w::worker
