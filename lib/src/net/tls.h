// OpenSSL for the native transports: client contexts that verify as
// net_client.h promises, and the server's certificate reload (SIGHUP).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "w/net_client.h"
#include "w/status.h"

namespace w::net {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;

/// A client context trusting the system's CAs, or only those in
/// tls.cacert (kNotFound / kInvalid when that file has none); TLS 1.2 at
/// least. Verification itself is switched on per connection.
Result<SslCtx> client_ssl_ctx(const TlsOptions& tls);

/// Why verification failed, in words ("certificate verify failed: unable
/// to get local issuer certificate"), from an X509_V_ERR code.
std::string verify_error_text(long x509_error);

/// The OpenSSL errors queued on this thread, joined and cleared ("" if none).
std::string openssl_errors();

/// Loads a renewed certificate chain and key into a live server context:
/// first into a scratch context, so a broken or mismatched pair changes
/// nothing (the error says why); connections already open keep theirs.
Status reload_server_cert(SSL_CTX* ctx, const std::string& cert, const std::string& key);

}  // namespace w::net
