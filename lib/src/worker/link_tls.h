// TLS 1.3 over a direct link (direct.h) when the pool runs with TLS: both
// ends hold a key derived from the run's secret and both handshakes' nonces,
// used as an external pre-shared key (TLS_AES_128_GCM_SHA256, no
// certificates), so every byte of the members' traffic is encrypted and
// authenticated, not only the link's opening. The socket stays the link's:
// ciphertext goes in through feed() and out through take_output().
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "w/status.h"

namespace w::worker {

class LinkTls {
 public:
  /// The dialer is the TLS client. `key`: 32 bytes.
  static Result<std::unique_ptr<LinkTls>> start(bool client, std::string key);
  ~LinkTls();
  LinkTls(const LinkTls&) = delete;
  LinkTls& operator=(const LinkTls&) = delete;

  /// Ciphertext received.
  void feed(const char* data, size_t n);
  /// Advances the handshake: true once it is done.
  Result<bool> handshake();
  /// Appends the plaintext that arrived to out[len..), growing `out` as
  /// needed; Io once the other end closed or sent what does not decrypt.
  Status read(std::string& out, size_t& len);
  /// Encrypts `n` bytes for take_output().
  Status write(const char* data, size_t n);
  /// The ciphertext to send so far.
  std::string take_output();

 private:
  LinkTls() = default;
  static int use_session(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* idlen,
                         SSL_SESSION** sess);
  static int find_session(SSL* ssl, const unsigned char* id, size_t idlen, SSL_SESSION** sess);
  SSL_SESSION* session() const;

  std::string key_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

}  // namespace w::worker
