#include "tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

#include <fmt/format.h>

namespace w::net {

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    // "error:0A000086:SSL routines::certificate verify failed": keep the words.
    std::string_view text(buf);
    if (size_t at = text.rfind(':'); at != std::string_view::npos && at + 1 < text.size())
      text.remove_prefix(at + 1);
    out += text;
  }
  return out;
}

std::string verify_error_text(long x509_error) {
  return fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(x509_error));
}

namespace {

// How many certificates a PEM file holds (0: none, or not PEM).
Result<int> count_certificates(const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (!f) return errno_status(fmt::format("--cacert '{}'", file), errno);
  int n = 0;
  while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
    X509_free(x);
    ++n;
  }
  std::fclose(f);
  ERR_clear_error();  // the read that ended the loop
  return n;
}

}  // namespace

Result<SslCtx> client_ssl_ctx(const TlsOptions& tls) {
  SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Status::Internal("TLS: cannot make a client context: " + openssl_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (tls.cacert.empty()) {
    // The system's CAs (/etc/ssl/certs; SSL_CERT_FILE and SSL_CERT_DIR
    // name others, as for every OpenSSL program).
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1)
      return Status::Io("TLS: cannot load the system's CA certificates: " + openssl_errors());
    return ctx;
  }
  auto n = count_certificates(tls.cacert);
  if (!n.ok()) return n.status();
  if (*n == 0)
    return Status::Invalid(fmt::format(
        "--cacert '{}': no PEM certificate in it (-----BEGIN CERTIFICATE-----)", tls.cacert));
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.cacert.c_str(), nullptr) != 1)
    return Status::Invalid(fmt::format("--cacert '{}': {}", tls.cacert, openssl_errors()));
  return ctx;
}

Status reload_server_cert(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  // Each file is read once, into memory, and the pair is checked before the
  // context changes: a certificate half written by a renewal, or a key of
  // another certificate, leaves the old pair in place.
  FILE* f = std::fopen(cert.c_str(), "r");
  if (!f) return errno_status(fmt::format("certificate '{}'", cert), errno);
  X509* leaf = PEM_read_X509(f, nullptr, nullptr, nullptr);
  STACK_OF(X509)* chain = sk_X509_new_null();
  while (X509* x = leaf ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr)
    sk_X509_push(chain, x);
  std::fclose(f);
  ERR_clear_error();  // the read that ended the chain
  EVP_PKEY* pkey = nullptr;
  if (FILE* k = std::fopen(key.c_str(), "r")) {
    pkey = PEM_read_PrivateKey(k, nullptr, nullptr, nullptr);
    std::fclose(k);
  }
  Status s;
  if (!leaf)
    s = Status::Invalid(fmt::format("certificate '{}': no PEM certificate in it", cert));
  else if (!pkey)
    s = Status::Invalid(
        fmt::format("key '{}': no PEM private key in it ({})", key, openssl_errors()));
  else if (X509_check_private_key(leaf, pkey) != 1)
    s = Status::Invalid(fmt::format("key '{}' does not belong to certificate '{}'", key, cert));
  else if (SSL_CTX_use_cert_and_key(ctx, leaf, pkey, chain, 1) != 1)
    s = Status::Invalid(fmt::format("certificate '{}': {}", cert, openssl_errors()));
  ERR_clear_error();
  X509_free(leaf);
  EVP_PKEY_free(pkey);
  sk_X509_pop_free(chain, X509_free);
  return s;
}

}  // namespace w::net
